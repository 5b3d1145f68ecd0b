// The MLP's shape and parameter layout: names, sizes and the flattening order shared by the zoo, the
// merging code and the browser (`@x/zoo/browser`); no imports, so it runs anywhere.

export interface MlpArch {
  readonly input: number;
  readonly hidden: readonly number[];
}

export const layerName = (i: number) => `backbone.fc${i + 1}`;

/** Backbone parameter names in code-point-sorted order (the flattening order of the merging reference). */
export function backboneKeys(arch: MlpArch): string[] {
  const keys: string[] = [];
  for (let i = 0; i < arch.hidden.length; i++) keys.push(`${layerName(i)}.bias`, `${layerName(i)}.weight`);
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function featureSize(arch: MlpArch): number {
  return arch.hidden[arch.hidden.length - 1]!;
}

export function layerShapes(arch: MlpArch): { name: string; inDim: number; outDim: number }[] {
  const out = [];
  let inDim = arch.input;
  for (let i = 0; i < arch.hidden.length; i++) {
    out.push({ name: layerName(i), inDim, outDim: arch.hidden[i]! });
    inDim = arch.hidden[i]!;
  }
  return out;
}

/** Number of backbone parameters (the merged vector's length D). */
export function backboneSize(arch: MlpArch): number {
  return layerShapes(arch).reduce((s, l) => s + l.outDim * l.inDim + l.outDim, 0);
}

/** One backbone tensor inside a flat backbone: name, PyTorch-layout shape, first element. */
export interface BackboneTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
}

/** The backbone's tensors in the flattening order with their offsets (what `mergeFlat` takes as `layout`). */
export function backboneLayout(arch: MlpArch): BackboneTensor[] {
  const shapes = new Map<string, number[]>();
  for (const l of layerShapes(arch)) {
    shapes.set(`${l.name}.weight`, [l.outDim, l.inDim]);
    shapes.set(`${l.name}.bias`, [l.outDim]);
  }
  let at = 0;
  return backboneKeys(arch).map((name) => {
    const shape = shapes.get(name)!;
    const t = { name, shape, offset: at };
    at += shape.reduce((a, b) => a * b, 1);
    return t;
  });
}
