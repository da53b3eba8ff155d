#!/usr/bin/env -S node --initial-old-space-size=128
// The flag above: see SERVER_NODE_FLAGS in bench/server-process.ts and docs/collection.md (package.json's
// scripts pass the same).
import '../dist/src/cli/main.js';
