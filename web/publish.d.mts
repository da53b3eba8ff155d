/** Types of web/publish.mjs (plain JavaScript: web/build.mjs runs it with Node before any compile). */
export declare const KEEP_OLD_ASSETS_MS: number;
export declare function publishBuild(
  staging: string,
  dist: string,
  options?: { keepMs?: number; now?: number },
): string[];
