export { Rng, type RngState } from "./rng.js";
export {
  countNaN,
  createSelectScratch,
  type FloatArray,
  quantileByIndex,
  quantileLinear,
  SelectionError,
  selectKth,
  selectKths,
  truncIndex,
} from "./select.js";
