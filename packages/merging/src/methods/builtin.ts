// Built-in merge methods, registered by name on import. Every module here runs in a browser too
// (`@x/merging/browser`); `index.ts` adds the Node-only sessions of `pcb`.

import { registerMethod } from "../method.js";
import { arceeFusion } from "./arcee-fusion.js";
import { fisher } from "./fisher.js";
import {
  breadcrumbs,
  breadcrumbsTies,
  dareLinear,
  dareTies,
  della,
  dellaLinear,
  taskArithmetic,
} from "./gta.js";
import { karcher } from "./karcher.js";
import { linear } from "./linear.js";
import { modelStock } from "./model-stock.js";
import { multislerp } from "./multislerp.js";
import { nearswap } from "./nearswap.js";
import { nuslerp } from "./nuslerp.js";
import { passthrough } from "./passthrough.js";
import { pcb } from "./pcb.js";
import { ram, ramplusTl } from "./ram.js";
import { regmean } from "./regmean.js";
import { sce } from "./sce.js";
import { slerp } from "./slerp.js";
import { ties } from "./ties.js";

export const BUILTIN_METHODS = [
  linear,
  taskArithmetic,
  ties,
  dareLinear,
  dareTies,
  breadcrumbs,
  breadcrumbsTies,
  della,
  dellaLinear,
  slerp,
  modelStock,
  nearswap,
  nuslerp,
  passthrough,
  fisher,
  regmean,
  sce,
  pcb,
  karcher,
  multislerp,
  arceeFusion,
  ram,
  ramplusTl,
] as const;

for (const m of BUILTIN_METHODS) registerMethod(m);
