// @x/zoo/browser: what a browser needs to score the zoo's models (no Node built-ins on this file's
// import graph, no TensorFlow.js): the MLP's layout, its forward pass and accuracy on typed arrays, and
// the reader of the live-merge bundle that `writeLiveMergeBundle` (`@x/zoo`) writes for the demo page.
// `tooling/test/browser-entries.test.ts` bundles this file for the browser and fails on any Node built-in.

export { type FlatHead, type FlatImages, mlpAccuracy, mlpFeatures } from "./forward.js";
export {
  type BackboneTensor,
  backboneKeys,
  backboneLayout,
  backboneSize,
  featureSize,
  layerShapes,
  type MlpArch,
} from "./layout.js";
export {
  evaluateLiveBundle,
  LIVE_BUNDLE_DIR,
  LIVE_BUNDLE_FORMAT,
  LIVE_BUNDLE_MANIFEST,
  LIVE_BUNDLE_VERSION,
  type LiveBundle,
  LiveBundleError,
  type LiveManifest,
  type LiveSection,
  type LiveTaskInfo,
  liveBundleFiles,
  openLiveBundle,
  parseLiveManifest,
} from "./live-bundle.js";
