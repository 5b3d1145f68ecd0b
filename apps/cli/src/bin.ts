#!/usr/bin/env node
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`x: ${(err as Error)?.message ?? err}`);
    process.exitCode = 1;
  },
);
