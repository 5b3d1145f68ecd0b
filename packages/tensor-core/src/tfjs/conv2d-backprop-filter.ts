// Own `Conv2DBackpropFilter` kernel. tfjs-backend-wasm 4.22 has none, so conv
// layers cannot train on wasm; the cpu backend's one reads every element through TensorBuffer.get
// and is very slow. This kernel reads x and dy once as flat arrays and accumulates
//   dW[kr, kc, ci, co] += x[b, yR·SH − top + kr, yC·SW − left + kc, ci] · dy[b, yR, yC, co]
// over all batch elements and output positions whose input coordinates lie inside the image,
// skipping zero inputs (cheap for spike tensors). NHWC and dilation 1 only.
import {
  backend_util,
  type DataType,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs-core";
import { TfBridgeError } from "./errors.js";

export const CONV2D_BACKPROP_FILTER = "Conv2DBackpropFilter";

/** The kernel attributes the filter gradient reads. */
export interface FilterGradAttrs {
  strides: number | [number, number];
  pad: "same" | "valid" | number | backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

interface ReadableBackend {
  readSync(dataId: object): backend_util.BackendValues;
}
interface WasmLikeBackend extends ReadableBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): backend_util.TypedArray;
}
interface CpuLikeBackend extends ReadableBackend {
  makeTensorInfo(shape: number[], dtype: DataType, values?: backend_util.BackendValues): TensorInfo;
}

/**
 * The filter gradient of an NHWC conv2d as a flat float32 array of `filterShape` [fh, fw, ci, co].
 * Pure function over typed arrays (exported for tests and for use outside tfjs).
 */
export function conv2dFilterGradNHWC(
  x: ArrayLike<number>,
  xShape: readonly number[],
  dy: ArrayLike<number>,
  attrs: Pick<FilterGradAttrs, "strides" | "pad" | "dimRoundingMode" | "filterShape">,
): Float32Array {
  if (xShape.length !== 4) throw new TfBridgeError(`Conv2DBackpropFilter: x must be rank 4, got [${xShape}]`);
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  if (dy.length !== batchSize * outHeight * outWidth * outChannels) {
    throw new TfBridgeError(
      `Conv2DBackpropFilter: dy has ${dy.length} elements, expected [${batchSize}, ${outHeight}, ${outWidth}, ${outChannels}]`,
    );
  }
  // float64 accumulation: the sum runs over batch x output positions, which can be long.
  const acc = new Float64Array(fh * fw * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const xR0 = yR * sh - top;
      for (let yC = 0; yC < outWidth; yC++) {
        const xC0 = yC * sw - left;
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let kr = 0; kr < fh; kr++) {
          const xR = xR0 + kr;
          if (xR < 0 || xR >= inHeight) continue;
          for (let kc = 0; kc < fw; kc++) {
            const xC = xC0 + kc;
            if (xC < 0 || xC >= inWidth) continue;
            const xBase = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wBase = (kr * fw + kc) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = x[xBase + ci];
              if (xv === 0) continue;
              const w = wBase + ci * outChannels;
              for (let co = 0; co < outChannels; co++) acc[w + co] += xv * dy[dyBase + co];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

function makeKernelFunc(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as FilterGradAttrs;
    if (a.dataFormat !== undefined && a.dataFormat !== "NHWC") {
      throw new TfBridgeError(
        `Conv2DBackpropFilter (${backendName}): only NHWC is supported, got ${a.dataFormat}`,
      );
    }
    const be = backend as unknown as ReadableBackend;
    const grad = conv2dFilterGradNHWC(
      be.readSync(x.dataId) as ArrayLike<number>,
      x.shape,
      be.readSync(dy.dataId) as ArrayLike<number>,
      a,
    );
    const shape = [...a.filterShape];
    if (backendName === "wasm") {
      const wasm = backend as unknown as WasmLikeBackend;
      const out = wasm.makeOutput(shape, "float32");
      wasm.typedArrayFromHeap(out).set(grad);
      return out;
    }
    return (backend as unknown as CpuLikeBackend).makeTensorInfo(shape, "float32", grad);
  };
}

const replaced = new Map<string, KernelConfig | undefined>();

/**
 * Registers the own Conv2DBackpropFilter for `backendName` ("wasm" or "cpu"), replacing any existing
 * one; the replaced config stays available through `replacedKernel` (the cpu reference in tests).
 */
export function registerConv2DBackpropFilter(backendName: "wasm" | "cpu"): void {
  if (replaced.has(backendName)) return;
  const existing = getKernel(CONV2D_BACKPROP_FILTER, backendName);
  if (existing) unregisterKernel(CONV2D_BACKPROP_FILTER, backendName);
  registerKernel({
    kernelName: CONV2D_BACKPROP_FILTER,
    backendName,
    kernelFunc: makeKernelFunc(backendName),
  });
  replaced.set(backendName, existing);
}

/** The kernel config that `registerConv2DBackpropFilter` replaced for a backend, if any. */
export function replacedKernel(backendName: string): KernelConfig | undefined {
  return replaced.get(backendName);
}
