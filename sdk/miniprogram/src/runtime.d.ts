// The globals every mini-program runtime (and Node, for tests) provides that the SDK uses; no DOM.
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare const console: { warn(...data: unknown[]): void };
