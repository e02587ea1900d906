/**
 * Route-schema (ajv) failures as elax errors: the 400 a request gets when its body fails the JSON Schema of its route
 * (route-schemas.ts) carries the same ELAX_ERR_* code and the same message the engine's own parser would give.
 *
 * Each constraint of a route schema names its message in the annotation keyword `x-elax-error`: a template, or an
 * object of templates by failing ajv keyword (`type`, `minimum`, …; `*` for the rest). Placeholders:
 *   {path}     the value's place in engine spelling (`upsert_rows[3]`, `consistency.level`, `limit.per`)
 *   {name}     the offending property name (an unknown key, a missing required one), else the value's own key
 *   {got}      the value as the query parser shows it (parse-util `show`: JSON, cut at 80 characters)
 *   {json}     JSON.stringify of the value      {str}  String(value)      {length}  the array's length
 *   {typeof}   `null` for null, else typeof     {kind}  `null`, `array`, else typeof
 * A constraint without a template gets `<path> <ajv's message>` (route-schemas.test.ts checks there is none).
 *
 * ajv runs with `verbose` (errors carry the failing value and schema node), without type coercion, defaults or
 * removal of properties: a body reaches the engine exactly as it was sent.
 */
import type { Ajv, ErrorObject, Options as AjvOptions } from 'ajv';
import { ElaxError, type ErrorCode } from '../crates-ts/core/index.js';
import { show } from '../crates-ts/query/parse-util.js';

export const MESSAGE_KEYWORD = 'x-elax-error';

/** fastify `ajv` option: options and the plugin that declares the annotation keyword. */
export const EDGE_AJV = {
  customOptions: {
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    allErrors: false,
    verbose: true,
    // Nullable fields are written `type: [T, 'null']` (null = absent for every optional parameter).
    allowUnionTypes: true,
    strictTypes: false,
  } satisfies AjvOptions,
  plugins: [
    (ajv: Ajv): Ajv => ajv.addKeyword(MESSAGE_KEYWORD),
  ],
};

type Template = string | Record<string, string>;


/** `/upsert_rows/3/id` → `upsert_rows[3].id` (JSON Pointer unescaped). */
export function enginePath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

function templateOf(e: ErrorObject): string | undefined {
  const t = (e.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD] as Template | undefined;
  if (t === undefined || typeof t === 'string') return t;
  return t[e.keyword] ?? t['*'];
}

/** The message for one ajv error (the first: ajv stops at it). */
export function edgeMessage(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  // An unknown key reports the object; a failing property name (propertyNames) reports it as `propertyName`.
  // Else the value's own name: the last step of its path (a property of additionalProperties' schema).
  const last = e.instancePath.slice(e.instancePath.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
  const name = String(params.additionalProperty ?? params.missingProperty ?? (e as { propertyName?: string }).propertyName ?? last);
  const v = e.data;
  const path = enginePath(e.instancePath);
  const t = templateOf(e);
  if (t === undefined) return `${path || 'request body'} ${e.message ?? 'is invalid'}`;
  return t.replace(/\{(path|name|got|json|str|length|typeof|kind)\}/g, (_, k: string) => {
    switch (k) {
      case 'path':
        return path;
      case 'name':
        return name;
      case 'got':
        return show(v);
      case 'json':
        return String(JSON.stringify(v));
      case 'str':
        return String(v);
      case 'length':
        return String(Array.isArray(v) ? v.length : '');
      case 'typeof':
        return v === null ? 'null' : typeof v;
      default:
        return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    }
  });
}

/** fastify `schemaErrorFormatter` of a route whose 400s carry `code`. */
export function edgeErrorFormatter(code: ErrorCode) {
  return (errors: ErrorObject[]): Error => new ElaxError(code, errors.length > 0 ? edgeMessage(errors[0]!) : 'invalid request');
}

/** A copy of a schema without the message annotations (what the OpenAPI document shows). */
export function withoutMessages<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((s) => withoutMessages(s)) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (k !== MESSAGE_KEYWORD) out[k] = withoutMessages(v);
  return out as T;
}
