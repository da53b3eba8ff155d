#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --initial-old-space-size=128
// The setting and the flag above: see SERVER_ENV and SERVER_NODE_FLAGS in bench/server-process.ts and
// docs/collection.md (package.json's scripts pass the same).
import '../dist/src/cli/main.js';
