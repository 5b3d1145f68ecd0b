export {
  FEEDER_FORMAT,
  FEEDER_FORMAT_VERSION,
  feederFromJson,
  feederToJson,
  parseFeederJson,
} from "./feeder-json.js";
export { loadFeeder } from "./load.js";
export {
  type MatpowerCase,
  type MatpowerMatrix,
  type MatpowerOptions,
  parseMatpower,
  parseMatpowerCase,
} from "./matpower.js";
