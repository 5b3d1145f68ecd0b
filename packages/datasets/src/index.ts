export {
  classCounts,
  DatasetError,
  IMAGE_SIDE,
  IMAGE_SIZE,
  type ImageSet,
  selectClasses,
  subset,
} from "./images.js";
export { loadFashion, loadMnist } from "./mnist.js";
