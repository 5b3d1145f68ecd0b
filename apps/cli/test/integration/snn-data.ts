// Toy data files for the x snn tests: real Fashion-MNIST images of some classes, relabelled 0..k−1.
import { loadFashion, selectClasses, subset } from "@x/datasets";
import { Rng, saveSafetensors, Tensor } from "@x/tensor-core";

/** Writes `perClass` seeded images of each of `classes` as a safetensors data file (images F32, labels U8). */
export async function writeFashionFile(
  file: string,
  classes: number[],
  perClass: number,
  seed: number,
): Promise<void> {
  const set = selectClasses(loadFashion(200), classes);
  const pick = subset(
    set,
    Array.from(new Rng(seed).sampleWithoutReplacement(set.count, perClass * classes.length)),
  );
  await saveSafetensors(file, {
    images: new Tensor("F32", [pick.count, 784], pick.images),
    labels: new Tensor("U8", [pick.count], pick.labels),
  });
}
