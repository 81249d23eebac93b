#!/usr/bin/env node
// Entry point of the `gitfleet` admin CLI. No top-level await: the CLI's single-file bundle and
// its single executable are CommonJS.
import { runCli } from "../cli/main.js";

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
