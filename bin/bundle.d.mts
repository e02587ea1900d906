// Types of bundle.mjs (plain JavaScript: it runs before tsx is registered) for the TypeScript that imports it.
export declare const ROOT: string;
export declare const ENTRIES: Record<'main' | 'pool-worker' | 'build-worker' | 'indexer-worker' | 'indexer-process-entry', string>;
export declare function fingerprint(root?: string, esbuildVersion?: string): string;
export declare function ensureBundle(opts?: { root?: string; cacheDir?: string; log?: (message: string) => void; onBuilt?: (dir: string, ms: number) => void }): Promise<string | null>;
