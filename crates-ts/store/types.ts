/**
 * The object-store contract every backend (memory, local directory, S3) implements identically.
 * Conformance is checked by ./conformance.ts, run against all three backends.
 */

/**
 * Opaque proof of which version of an object a caller read. Only a read (get/head) or a successful write hands one
 * out; putIfMatch succeeds only if the object is still at that version. How the version is represented (ETag,
 * quoted or not, a content hash, an mtime) is the backend's business.
 */
export class Witness {
  readonly #etag: string;
  private constructor(etag: string) {
    this.#etag = etag;
  }
  /** For backends only: wrap a backend-specific version token. */
  static fromBackendToken(token: string): Witness {
    return new Witness(token);
  }
  /** For backends only: the version token this witness carries. */
  static backendToken(w: Witness): string {
    return w.#etag;
  }
  /** Test helper: a witness that matches no object version. */
  static neverMatches(): Witness {
    return new Witness('elax-never-matches-00000000000000000000');
  }
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Last-modified time, epoch milliseconds. */
  lastModified: number;
}

export interface GetResult {
  bytes: Uint8Array;
  witness: Witness;
  info: ObjectInfo;
}

export interface ListOptions {
  /**
   * Only keys strictly greater than this (UTF-8 byte order, like S3 StartAfter). Any string, not necessarily a key.
   * With a delimiter, a common prefix is listed only if it sorts after startAfter itself.
   */
  startAfter?: string;
  /**
   * Stop after this many entries, objects and common prefixes counted together like S3 MaxKeys (all pages are
   * followed until then). Default: no limit.
   */
  limit?: number;
  /** Group keys by this delimiter after the prefix (like S3 Delimiter); common prefixes come back in `prefixes`. */
  delimiter?: string;
}

export interface ListResult {
  objects: ObjectInfo[];
  /** Common prefixes when `delimiter` was given (each ends with the delimiter). */
  prefixes: string[];
}

/**
 * Result of a conditional write. `ok: false` means "lost the race": the condition failed; nothing was written.
 *
 * When a server leaves the outcome unknown (an S3 5xx or network error, or a 412 after the SDK retried a request
 * whose first attempt may have won), the S3 backend settles it by reading the object back: it is `ok: true` iff
 * the object now holds exactly our bytes (its ETag is their MD5). So two racers writing byte-identical content can
 * both see `ok: true` in that case; elax's conditionally written objects always differ (epochs, ids, batches).
 */
export type PutResult = { ok: true; witness: Witness } | { ok: false };

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
}

export interface ObjectStore {
  /** Human-readable description (`file:///data`, `s3://bucket/prefix`, `memory://`), for logs and errors. */
  readonly description: string;
  /**
   * True when reads are served from this machine's own disk (a local directory store, and wrappers that pass it on):
   * a disk cache in front of such a store would only copy files from one place on the disk to another.
   */
  readonly local?: boolean;
  /**
   * Whole object, or the byte range [start, end) clamped to the object (a range past the end gives empty bytes;
   * `info.size` is always the whole object's size). Resolves null if the key does not exist.
   */
  get(key: string, range?: ByteRange): Promise<GetResult | null>;
  /** Metadata and witness without the body. Null if missing. */
  head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null>;
  /** Unconditional write (durable when the promise resolves). */
  put(key: string, bytes: Uint8Array): Promise<Witness>;
  /** Create only if absent (If-None-Match: *). */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult>;
  /** Replace only if the object is still at `witness` (If-Match). A missing object is a lost race. */
  putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult>;
  /** Keys under `prefix` in UTF-8 byte order (S3's order), following all pages. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Delete; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Release connections / handles. */
  close(): Promise<void>;
}
