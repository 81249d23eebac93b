#!/usr/bin/env node
// Entry point of the `gitfleet` admin CLI.
import { runCli } from "../cli/main.js";

process.exitCode = await runCli(process.argv.slice(2));
