#!/usr/bin/env node
// Build step: writes the demo payloads into .cache/demo/ (git-ignored), so the demo manifests
// in partitions.d/ have images to boot on a fresh clone. See src/demo/payloads.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helloArm64Image, helloArm64Raw } from '../dist/demo/payloads.js';

const dir = fileURLToPath(new URL('../.cache/demo/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}hello-arm64.Image`, helloArm64Image('hello from the vman demo partition `hello`\r\n'));
writeFileSync(`${dir}rtos-arm64.bin`, helloArm64Raw('rtos: ready\r\n'));
