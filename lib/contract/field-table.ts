import type { z } from "zod";

/**
 * A synced entity's contract as one table of fields: where each value comes from, where it is
 * stored, and where it appears (API view, export, app events). The schemas and projections of
 * each place are derived from the table (`jsonShape`, `projectJson`, `fromPayload`, ...); what
 * cannot be derived (a Mongoose schema) is compared with it by a contract test. One table per
 * entity (users now, organizations and memberships next): adding a field is one entry.
 *
 * Model-free: zod only, so the OpenAPI document and the browser client's types derive from it
 * without loading Mongoose.
 */

/** Where a field's value comes from, and so who may write it. */
export type FieldSource =
  /** The Clerk id: the stored `_id`. */
  | "key"
  /** Clerk's payload for the entity, mapped into the snapshot the sync rules apply; only the sync writes it. */
  | "clerk"
  /** Clerk's session webhooks (sign-in activity), only ever moved forward. */
  | "clerk-sessions"
  /** The app's own data, edited by the user through the API (never by the sync). */
  | "app"
  /** Our bookkeeping: tombstone, purge marker, outbox, timestamps. */
  | "sync";

/** Where, besides storage, a field appears. */
export type FieldPlace =
  /** The API view (the OpenAPI schema and the typed client derive from it). */
  | "view"
  /** The personal-data export. */
  | "export"
  /** The entity in app events (`data.user` of `app/user.created|updated`); taken from the snapshot. */
  | "appEvent"
  /** A change of it is announced (`app/user.updated` and its `changedFields`); compared on the snapshot. */
  | "changedFields";

export interface FieldSpec<Payload, Doc> {
  source: FieldSource;
  /** Its path in the stored document; the field's name if omitted; `false` when computed, not stored. */
  stored?: string | false;
  /** Clerk's payload keys it is mapped from (source `clerk`). */
  clerk?: readonly (keyof Payload & string)[];
  /** Maps Clerk's payload to the stored value (source `clerk`). */
  fromClerk?: (payload: Payload) => unknown;
  /** Its JSON type in the view and the export. */
  json?: z.ZodType;
  /** Reads it from the stored document as `json` (view and export). */
  toJson?: (doc: Doc) => unknown;
  /** Its JSON type in app events when not `json` (events carry the snapshot, where it is never absent). */
  appEventJson?: z.ZodType;
  /** Where it appears besides storage; nowhere if omitted. */
  in?: readonly FieldPlace[];
  /** Kept by the retention purge (the minimal tombstone); every other stored field is erased. */
  keptByPurge?: true;
}

type AnyTable = Record<string, FieldSpec<never, never>>;

/** The names of the fields that appear in `place`, in table order. */
export type FieldsIn<T, Place extends FieldPlace> = {
  [K in keyof T]: T[K] extends { in: readonly (infer P)[] } ? (Place extends P ? K : never) : never;
}[keyof T] &
  string;

/** The names of the fields whose values come from `source`. */
export type FieldsFrom<T, Source extends FieldSource> = { [K in keyof T]: T[K] extends { source: Source } ? K : never }[keyof T] & string;

/** The stored paths (top level) of the entity's document. */
export type StoredPaths<T> = {
  [K in keyof T]: T[K] extends { stored: false } ? never : T[K] extends { stored: infer Path extends string } ? Path : K;
}[keyof T] &
  string;

type JsonOf<Spec> = Spec extends { json: infer Json extends z.ZodType } ? Json : never;
type AppEventJsonOf<Spec> = Spec extends { appEventJson: infer Json extends z.ZodType } ? Json : JsonOf<Spec>;

/** The zod shape of a place: each field's `json` (in app events, `appEventJson` where given). */
export type JsonShape<T, Place extends FieldPlace> = {
  [K in FieldsIn<T, Place>]: Place extends "appEvent" ? AppEventJsonOf<T[K]> : JsonOf<T[K]>;
};

/** What the sync stores from Clerk's payload: each `clerk` field's `fromClerk` result. */
export type SnapshotOf<T> = { -readonly [K in FieldsFrom<T, "clerk">]: T[K] extends { fromClerk: (payload: never) => infer Value } ? Value : never };

/**
 * Declares an entity's field table: `defineFields<ClerkPayload, StoredDocument>()({ ... })`. The
 * table is checked once, here, so a field declared half-way fails at start-up naming the field.
 */
export function defineFields<Payload, Doc>() {
  return <const T extends Record<string, FieldSpec<Payload, Doc>>>(table: T): T => {
    const problems = Object.entries(table).flatMap(([name, spec]) => fieldProblems(name, spec as FieldSpec<never, never>));
    if (problems.length > 0) throw new TypeError(`invalid field table:\n${problems.join("\n")}`);
    return table;
  };
}

function fieldProblems(name: string, spec: FieldSpec<never, never>): string[] {
  const places = spec.in ?? [];
  const problems: string[] = [];
  const fromClerk = spec.source === "clerk";
  if (fromClerk !== (spec.fromClerk !== undefined)) problems.push(`${name}: a field has fromClerk exactly when its source is "clerk"`);
  if (fromClerk !== (spec.clerk !== undefined && spec.clerk.length > 0)) problems.push(`${name}: a field lists its clerk payload keys exactly when its source is "clerk"`);
  if (fromClerk && spec.stored === false) problems.push(`${name}: a field from Clerk is stored`);
  const inJson = places.includes("view") || places.includes("export");
  if (inJson && (spec.json === undefined || spec.toJson === undefined)) problems.push(`${name}: a field in the view or the export needs json and toJson`);
  if (!inJson && spec.toJson !== undefined) problems.push(`${name}: toJson is unused outside the view and the export`);
  if ((places.includes("appEvent") || places.includes("changedFields")) && !fromClerk) {
    problems.push(`${name}: app events are built from Clerk's snapshot: only a field from Clerk can be in appEvent or changedFields`);
  }
  if (places.includes("appEvent") && (spec.appEventJson ?? spec.json) === undefined) problems.push(`${name}: a field in app events needs json or appEventJson`);
  if (spec.appEventJson !== undefined && !places.includes("appEvent")) problems.push(`${name}: appEventJson is unused outside app events`);
  if (spec.stored === false && spec.keptByPurge) problems.push(`${name}: only a stored field can be kept by the purge`);
  return problems;
}

/** The names of the fields in `place`, in table order. */
export function fieldsIn<T extends AnyTable, Place extends FieldPlace>(table: T, place: Place): FieldsIn<T, Place>[] {
  return Object.keys(table).filter((name) => table[name]?.in?.includes(place)) as FieldsIn<T, Place>[];
}

/** The stored top-level paths, in table order. */
export function storedPaths<T extends AnyTable>(table: T): StoredPaths<T>[] {
  return Object.entries(table).flatMap(([name, spec]) => (spec.stored === false ? [] : [spec.stored ?? name])) as StoredPaths<T>[];
}

/** The stored paths the retention purge erases: all but those `keptByPurge`. */
export function purgedPaths<T extends AnyTable>(table: T): StoredPaths<T>[] {
  return Object.entries(table).flatMap(([name, spec]) => (spec.stored === false || spec.keptByPurge ? [] : [spec.stored ?? name])) as StoredPaths<T>[];
}

/** The zod shape of a place (for `z.object`), in table order. */
export function jsonShape<T extends AnyTable, Place extends FieldPlace>(table: T, place: Place): JsonShape<T, Place> {
  return Object.fromEntries(
    fieldsIn(table, place).map((name) => {
      const spec = table[name] as FieldSpec<never, never>;
      return [name, place === "appEvent" ? (spec.appEventJson ?? spec.json) : spec.json];
    }),
  ) as JsonShape<T, Place>;
}

/** A stored document as a place's JSON (view or export), field by field in table order. */
export function projectJson<Doc>(table: Record<string, FieldSpec<never, Doc>>, names: readonly string[], doc: Doc): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const name of names) json[name] = (table[name]?.toJson as (doc: Doc) => unknown)(doc);
  return json;
}

/** Clerk's payload mapped to the snapshot the sync stores, field by field in table order. */
export function fromPayload<Payload>(table: Record<string, FieldSpec<Payload, never>>, names: readonly string[], payload: Payload): Record<string, unknown> {
  const snapshot: Record<string, unknown> = {};
  for (const name of names) snapshot[name] = (table[name]?.fromClerk as (payload: Payload) => unknown)(payload);
  return snapshot;
}

/** Snapshot values as JSON for app events: dates as ISO strings, the rest as they are. */
export function snapshotJson(snapshot: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const name of names) {
    const value = snapshot[name];
    json[name] = value instanceof Date ? value.toISOString() : value;
  }
  return json;
}

/** The names of the fields whose values come from `source`, in table order. */
export function fieldsFrom<T extends AnyTable, Source extends FieldSource>(table: T, source: Source): FieldsFrom<T, Source>[] {
  return Object.keys(table).filter((name) => table[name]?.source === source) as FieldsFrom<T, Source>[];
}

