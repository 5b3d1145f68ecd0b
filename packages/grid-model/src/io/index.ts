export {
  feederToMatpower,
  feederToOpenDss,
  type ModelToFeederOptions,
  modelToFeeder,
  parseOpenDss,
  unidentifiedBranches,
} from "./export.js";
export {
  FEEDER_FORMAT,
  FEEDER_FORMAT_VERSION,
  feederFromJson,
  feederToJson,
  parseFeederJson,
} from "./feeder-json.js";
export { loadFeeder } from "./load.js";
export {
  type LongFormatOptions,
  LongFormatParser,
  type LongFormatWriteOptions,
  meterReadingLines,
  type PowerUnit,
  parseMeterReadings,
  type ReactiveUnit,
  readMeterReadings,
  type VoltageUnit,
  writeMeterReadings,
} from "./long-format.js";
export {
  type MatpowerCase,
  type MatpowerMatrix,
  type MatpowerOptions,
  parseMatpower,
  parseMatpowerCase,
} from "./matpower.js";
export {
  detectMeterFormat,
  type MeterDataReadOptions,
  type MeterFormat,
  meterFormatOf,
  parseMeterMap,
  readMeterData,
  readMeterMap,
} from "./meter-file.js";
export {
  type CsvReadOptions,
  type CsvWriteOptions,
  parseDecimal,
  parseSmartMeterCsv,
  readSmartMeterCsv,
  type SkippedRow,
  SMARTMETER_FORMAT,
  SmartMeterCsvError,
  SmartMeterCsvParser,
  smartMeterCsvLines,
  writeSmartMeterCsv,
} from "./smartmeter-csv.js";
