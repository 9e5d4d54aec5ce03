// Draw a digit: the notebook's trained network, run in the browser on a drawing prepared the way MNIST's digits were.
//
// prepare() is mnist_ann.images.digit_steps written again in JavaScript, step for step and number for number:
// grey, inverted so that ink is bright, cropped to the ink, scaled to fit 20x20 keeping the shape (Pillow's
// Lanczos filter, in its integer arithmetic), and placed in the 28x28 field with its centre of mass in the middle.
// forward() is the network: x @ W1 + b1, ReLU, the same for the second layer, then softmax. The weights come from
// weights.js, loaded by a <script> tag, so the page also works opened straight from disk.
"use strict";

const FIELD = 28; // the network's input is FIELD x FIELD pixels ...
const BOX = 20; // ... with the digit scaled to fit BOX x BOX inside, as NIST's digits were for MNIST
const INK_THRESHOLD = Math.fround(0.2); // share of the ink range above which a pixel counts as ink when cropping
const PRECISION_BITS = 32 - 8 - 2; // Pillow's fixed-point precision for 8-bit images
const STROKE = 18; // pen width on the 280-pixel canvas: about an MNIST stroke once scaled to 20x20

// --- preparation: mnist_ann.images.digit_steps ------------------------------------------------------------------

function roundHalfEven(x) {
  // Python's round(): halves go to the even neighbour.
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest < 0.5) return floor;
  if (rest > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function median(values) {
  // NumPy's median of float32 values: the mean of the two middle ones for an even count, in float32.
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : Math.fround((sorted[mid - 1] + sorted[mid]) / 2);
}

function pairwiseSum32(values, start, count) {
  // NumPy's float32 sum: pairwise, with eight running sums in blocks of up to 128 values.
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum = Math.fround(sum + values[start + i]);
    return sum;
  }
  if (count <= 128) {
    const r = new Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = Math.fround(r[j] + values[start + i + j]);
    }
    let sum = Math.fround(
      Math.fround(Math.fround(r[0] + r[1]) + Math.fround(r[2] + r[3])) +
        Math.fround(Math.fround(r[4] + r[5]) + Math.fround(r[6] + r[7])),
    );
    for (; i < count; i++) sum = Math.fround(sum + values[start + i]);
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return Math.fround(pairwiseSum32(values, start, half) + pairwiseSum32(values, start + half, count - half));
}

function sinc(x) {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos(x) {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

function coefficients(inSize, outSize) {
  // Pillow's precompute_coeffs and normalize_coeffs_8bpc: for each output pixel, its first input pixel and integer
  // weights.
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const step = 1 / filterscale;
  const rows = [];
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - first;
    const weights = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const w = lanczos((i + first - center + 0.5) * step);
      weights.push(w);
      total += w;
    }
    const fixed = weights.map((w) => {
      const k = total !== 0 ? w / total : w;
      return Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    });
    rows.push({ first, weights: fixed });
  }
  return rows;
}

function clip8(sum) {
  return Math.min(255, Math.max(0, sum >> PRECISION_BITS));
}

function resizeLanczos(pixels, width, height, outWidth, outHeight) {
  // Pillow's Image.resize(size, LANCZOS) of an 8-bit image: one pass along the rows and one down the columns, each
  // rounded to 8 bits; the vertical pass first when the height shrinks more than twice as much as the width, and a
  // pass whose size does not change skipped, as Pillow 13 does.
  const horizontalFirst = !(height - outHeight > 0 && height - outHeight > (width - outWidth) * 2);
  let image = pixels, w = width, h = height;
  const alongRows = () => {
    const columns = coefficients(w, outWidth);
    const next = new Uint8Array(outWidth * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < outWidth; x++) {
        const { first, weights } = columns[x];
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += image[y * w + first + i] * weights[i];
        next[y * outWidth + x] = clip8(sum);
      }
    }
    [image, w] = [next, outWidth];
  };
  const downColumns = () => {
    const rows = coefficients(h, outHeight);
    const next = new Uint8Array(w * outHeight);
    for (let y = 0; y < outHeight; y++) {
      const { first, weights } = rows[y];
      for (let x = 0; x < w; x++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += image[(first + i) * w + x] * weights[i];
        next[y * w + x] = clip8(sum);
      }
    }
    [image, h] = [next, outHeight];
  };
  const passes = horizontalFirst ? [[outWidth !== width, alongRows], [outHeight !== height, downColumns]]
    : [[outHeight !== height, downColumns], [outWidth !== width, alongRows]];
  for (const [needed, pass] of passes) if (needed) pass();
  return image;
}

function prepare(rgba, width, height) {
  // The 28x28 input (Float32Array, row by row, 0-1, bright ink on black) for an opaque RGBA image, or null when the
  // image is blank: digit_steps's steps, with the same numbers.
  const grey = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    grey[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; // Pillow's RGB to L
  }
  const border = [];
  for (let x = 0; x < width; x++) border.push(grey[x]);
  for (let x = 0; x < width; x++) border.push(grey[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(grey[y * width]);
  for (let y = 0; y < height; y++) border.push(grey[y * width + width - 1]);
  let background = median(border);
  if (background > 127) {
    // dark ink on light paper: MNIST stores bright ink on black
    for (let i = 0; i < grey.length; i++) grey[i] = 255 - grey[i];
    background = 255 - background;
  }
  const ink = new Float32Array(width * height);
  let most = 0;
  for (let i = 0; i < ink.length; i++) {
    ink[i] = Math.max(grey[i] - background, 0);
    most = Math.max(most, ink[i]);
  }
  if (most < 16) return null; // blank: no ink stands out from the background
  for (let i = 0; i < ink.length; i++) ink[i] = Math.fround(ink[i] / most);

  // Crop to the rows and columns that hold ink.
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > INK_THRESHOLD) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  const cropWidth = right - left + 1;
  const cropHeight = bottom - top + 1;
  const cropped = new Uint8Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y++) {
    for (let x = 0; x < cropWidth; x++) {
      cropped[y * cropWidth + x] = Math.trunc(Math.fround(ink[(top + y) * width + left + x] * 255));
    }
  }

  // Fit the longer side to 20 pixels, keeping the aspect ratio.
  const scale = BOX / Math.max(cropWidth, cropHeight);
  const boxWidth = Math.max(1, roundHalfEven(cropWidth * scale));
  const boxHeight = Math.max(1, roundHalfEven(cropHeight * scale));
  const resized = resizeLanczos(cropped, cropWidth, cropHeight, boxWidth, boxHeight);
  const box = Float32Array.from(resized, (v) => Math.fround(v / 255));

  // Paste so that the centre of mass lands on the centre of the 28x28 field.
  const mass = pairwiseSum32(box, 0, box.length);
  let sumY = 0, sumX = 0;
  for (let y = 0; y < boxHeight; y++) {
    for (let x = 0; x < boxWidth; x++) {
      sumY += y * box[y * boxWidth + x];
      sumX += x * box[y * boxWidth + x];
    }
  }
  const offsetY = Math.min(Math.max(roundHalfEven(FIELD / 2 - sumY / mass), 0), FIELD - boxHeight);
  const offsetX = Math.min(Math.max(roundHalfEven(FIELD / 2 - sumX / mass), 0), FIELD - boxWidth);
  const field = new Float32Array(FIELD * FIELD);
  for (let y = 0; y < boxHeight; y++) {
    for (let x = 0; x < boxWidth; x++) {
      field[(offsetY + y) * FIELD + offsetX + x] = Math.min(Math.max(box[y * boxWidth + x], 0), 1);
    }
  }
  return field;
}

// --- the network --------------------------------------------------------------------------------------------------

function decodeFloat16(base64) {
  // Little-endian float16 numbers, base64-encoded, as Float32Array.
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = bytes[2 * i] | (bytes[2 * i + 1] << 8);
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) out[i] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) out[i] = fraction ? NaN : sign * Infinity;
    else out[i] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return out;
}

function loadNetwork(network) {
  return network.layers.map((layer) => ({
    name: layer.name,
    activation: layer.activation,
    inputs: layer.inputs,
    units: layer.units,
    kernel: decodeFloat16(layer.kernel), // inputs x units, row by row
    bias: decodeFloat16(layer.bias),
  }));
}

function forward(layers, input) {
  // Each layer's output for one input: x @ W + b, then ReLU, or softmax for the last.
  const outputs = [];
  let x = input;
  for (const layer of layers) {
    const z = Float64Array.from(layer.bias);
    for (let i = 0; i < layer.inputs; i++) {
      if (x[i] === 0) continue;
      const row = i * layer.units;
      for (let j = 0; j < layer.units; j++) z[j] += x[i] * layer.kernel[row + j];
    }
    if (layer.activation === "relu") {
      for (let j = 0; j < z.length; j++) z[j] = Math.max(z[j], 0);
    } else if (layer.activation === "softmax") {
      const top = Math.max(...z);
      let total = 0;
      for (let j = 0; j < z.length; j++) total += z[j] = Math.exp(z[j] - top);
      for (let j = 0; j < z.length; j++) z[j] /= total;
    }
    outputs.push(z);
    x = z;
  }
  return outputs;
}

function pushes(layers, outputs, digit) {
  // What each first-layer neuron adds to `digit`'s sum z3[digit]: its output times the weight of all its paths to
  // that sum through the second-layer neurons that are on (ReLU passes those and stops the others). With the biases,
  // these add up to z3[digit] exactly, so they say which neurons made the answer.
  const [first, second, last] = layers;
  const [h1, h2] = outputs;
  const path = new Float64Array(second.units); // the weight from each second-layer neuron to the digit, if it is on
  for (let k = 0; k < second.units; k++) path[k] = h2[k] > 0 ? last.kernel[k * last.units + digit] : 0;
  const added = new Float64Array(first.units);
  for (let j = 0; j < first.units; j++) {
    if (h1[j] <= 0) continue;
    let weight = 0;
    for (let k = 0; k < second.units; k++) weight += second.kernel[j * second.units + k] * path[k];
    added[j] = h1[j] * weight;
  }
  return added;
}

// --- the page -------------------------------------------------------------------------------------------------------

const page = {
  layers: null,
  input: null, // the 28x28 input of the drawing, or null while the canvas is blank
  outputs: null, // each layer's output for it
};

function showDigitIn(canvas, values, colour) {
  // Draw 784 values on a 28x28 canvas (CSS scales it up, pixel for pixel).
  const context = canvas.getContext("2d");
  const image = context.createImageData(FIELD, FIELD);
  for (let i = 0; i < FIELD * FIELD; i++) {
    const [r, g, b] = colour(values[i]);
    image.data.set([r, g, b, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

const grey = (v) => [255 * v, 255 * v, 255 * v];

function weightPicture(layer, unit, scale) {
  // Neuron `unit`'s 784 weights divided by `scale`: red where ink raises its sum, blue where ink lowers it.
  return Array.from({ length: layer.inputs }, (_, i) => layer.kernel[i * layer.units + unit] / scale);
}

function largestWeight(layer, units) {
  // The largest weight of any of `units`, as a size: one colour scale for all their pictures.
  let scale = 1e-9;
  for (const unit of units) {
    for (let i = 0; i < layer.inputs; i++) scale = Math.max(scale, Math.abs(layer.kernel[i * layer.units + unit]));
  }
  return scale;
}

const redBlue = (w) => (w >= 0 ? [255, 255 * (1 - w), 255 * (1 - w)] : [255 * (1 + w), 255 * (1 + w), 255]);

function render() {
  const answer = document.getElementById("answer");
  const bars = document.querySelectorAll("#bars .bar");
  const neurons = document.getElementById("neurons");
  showDigitIn(document.getElementById("seen"), page.input || new Float32Array(FIELD * FIELD), grey);
  neurons.replaceChildren();
  if (!page.outputs) {
    answer.textContent = "Draw a digit";
    answer.dataset.digit = "";
    bars.forEach((bar) => {
      bar.style.height = "0%";
      bar.classList.remove("best");
      bar.title = "";
      bar.previousElementSibling.textContent = "";
    });
    return;
  }
  const probabilities = page.outputs[page.outputs.length - 1];
  const best = probabilities.indexOf(Math.max(...probabilities));
  answer.textContent = `${best} (${Math.round(100 * probabilities[best])}%)`;
  answer.dataset.digit = String(best);
  bars.forEach((bar, digit) => {
    bar.style.height = `calc((100% - 0.9rem) * ${probabilities[digit].toFixed(4)})`; // room for the value above
    bar.classList.toggle("best", digit === best);
    bar.title = `${digit}: ${(100 * probabilities[digit]).toFixed(1)}%`;
    bar.previousElementSibling.textContent = `${Math.round(100 * probabilities[digit])}%`; // in view, no hover
  });
  const added = pushes(page.layers, page.outputs, best);
  const strongest = Array.from(added.keys())
    .sort((a, b) => added[b] - added[a])
    .slice(0, 8)
    .filter((unit) => added[unit] > 0);
  const scale = largestWeight(page.layers[0], strongest);
  document.getElementById("scale").textContent = `±${scale.toFixed(2)}`;
  for (const unit of strongest) {
    const figure = document.createElement("figure");
    figure.dataset.unit = String(unit);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = FIELD;
    showDigitIn(canvas, weightPicture(page.layers[0], unit, scale), redBlue);
    const caption = document.createElement("figcaption");
    caption.textContent = `neuron ${unit}: +${added[unit].toFixed(1)}`;
    figure.append(canvas, caption);
    neurons.append(figure);
  }
}

function update(canvas) {
  const context = canvas.getContext("2d");
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  page.input = prepare(data, canvas.width, canvas.height);
  page.outputs = page.input && forward(page.layers, page.input);
  render();
}

function setUp() {
  const canvas = document.getElementById("pad");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const clear = () => {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    page.input = page.outputs = null;
    render();
  };
  if (!window.MNIST_NETWORK) {
    document.getElementById("answer").textContent = "The network's weights (weights.js) did not load.";
    return;
  }
  page.layers = loadNetwork(window.MNIST_NETWORK);
  let drawing = null; // the pointer that draws, and where it was
  let pending = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      update(canvas);
    });
  };
  context.lineCap = context.lineJoin = "round";
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    drawing = { id: event.pointerId, x, y };
    context.fillStyle = "#000";
    context.beginPath();
    context.arc(x, y, STROKE / 2, 0, 2 * Math.PI);
    context.fill();
    schedule();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing || event.pointerId !== drawing.id) return;
    event.preventDefault();
    const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of points.length ? points : [event]) {
      const [x, y] = at(e);
      context.strokeStyle = "#000";
      context.lineWidth = STROKE;
      context.beginPath();
      context.moveTo(drawing.x, drawing.y);
      context.lineTo(x, y);
      context.stroke();
      drawing.x = x;
      drawing.y = y;
    }
    schedule();
  });
  const stop = (event) => {
    if (drawing && event.pointerId === drawing.id) {
      drawing = null;
      schedule();
    }
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  document.getElementById("clear").addEventListener("click", clear);
  clear();
}

window.mnistPage = { prepare, resizeLanczos, forward, pushes, loadNetwork, page };
document.addEventListener("DOMContentLoaded", setUp);
