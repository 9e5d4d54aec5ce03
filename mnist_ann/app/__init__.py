"""The application built on the mnist_ann library: command line, run folders, distributed training, image input.

The library (`mnist_ann`) never imports from here; the notebook needs none of it.
"""
