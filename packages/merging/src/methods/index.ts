// Built-in merge methods, registered by name on import, with the Node-only sessions of `pcb`
// (streaming-global's threads and spill files, its fast path over stored bytes).

import "./pcb-node.js";

export { BUILTIN_METHODS } from "./builtin.js";
