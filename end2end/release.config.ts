import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The release bundle's smoke test (.dev/smoke-release): the unpacked bundle's own server,
// started by that script at RELEASE_URL, in the same Debian Chromium as the other tests.
export default defineConfig({
  ...base,
  testDir: "./release",
  use: { ...base.use, baseURL: process.env.RELEASE_URL ?? "http://127.0.0.1:3100" },
});
