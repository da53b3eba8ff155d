#!/usr/bin/env -S GLIBC_TUNABLES=${GLIBC_TUNABLES}:glibc.malloc.trim_threshold=131072 node --initial-old-space-size=128
// The line above sets how the server runs: see SERVER_NODE_FLAGS and SERVER_ENV in
// bench/server-process.ts and docs/collection.md (package.json's demo and serve scripts run this file).
import '../dist/src/cli/main.js';
