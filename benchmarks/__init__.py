"""The project's measurements, beside the package they measure: run each as `python -m benchmarks.NAME`."""
