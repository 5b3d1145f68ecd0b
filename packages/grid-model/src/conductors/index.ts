export {
  type ConductorType,
  conductorById,
  conductorLibrary,
  conductorsPu,
  type LibraryFilter,
  selectConductors,
} from "./library.js";
export {
  IEEE_LINE_CODES,
  IEEE13_MTX_CODES,
  KM_PER_KFT,
  KM_PER_MILE,
  type PhaseLineCode,
  positiveSequencePerKm,
} from "./linecodes.js";
