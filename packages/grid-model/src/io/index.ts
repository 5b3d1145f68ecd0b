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
export {
  type CsvWriteOptions,
  parseSmartMeterCsv,
  readSmartMeterCsv,
  SMARTMETER_FORMAT,
  SmartMeterCsvError,
  SmartMeterCsvParser,
  smartMeterCsvLines,
  writeSmartMeterCsv,
} from "./smartmeter-csv.js";
