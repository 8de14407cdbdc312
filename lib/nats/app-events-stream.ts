import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { appEventsStream, appEventsSubjects } from "./app-event-subjects.js";

export interface StreamLimits {
  /** Messages older than this are discarded. Default 7 days. */
  maxAgeMs: number;
  /** At most this many messages; the oldest go first. Default 100,000. */
  maxMsgs: number;
  /** At most this many bytes; the oldest go first. Default 100 MiB. */
  maxBytes: number;
  /**
   * How long JetStream remembers a `Nats-Msg-Id` to drop a republication. Default 6 hours:
   * the span of one run's retries. Inngest runs the publishing function once per event id
   * (it drops a repeated id for 24 h), so a repeat can only come from a retry of the same
   * run after an attempt whose PubAck was lost although the message was stored. With
   * `retries: 10`, Inngest's backoff (15 s, 30 s, 1 m, 2 m, 5 m, 10 m, 20 m, 40 m, 1 h, 2 h,
   * each plus up to 30 s of jitter) puts the last attempt about 4 h 25 m after the first;
   * 6 h covers that with room for queueing delays. Cost: the server keeps the ids of the
   * last 6 h in memory (about 100 bytes each: 2 MB at one event a second).
   */
  duplicateWindowMs: number;
  /** Copies of each message in a NATS cluster (1 on a single server; 3 in production clusters). */
  replicas: number;
}

export const defaultStreamLimits: StreamLimits = {
  maxAgeMs: 7 * 86_400_000,
  maxMsgs: 100_000,
  maxBytes: 100 * 1024 * 1024,
  duplicateWindowMs: 6 * 3_600_000,
  replicas: 1,
};

/** Defaults filled in and every field checked, naming the bad option. */
export function resolveStreamLimits(overrides: Partial<StreamLimits> = {}): StreamLimits {
  const limits = { ...defaultStreamLimits, ...withoutUndefined(overrides) };
  for (const key of ["maxAgeMs", "maxMsgs", "maxBytes", "duplicateWindowMs"] as const) {
    if (!Number.isSafeInteger(limits[key]) || limits[key] < 1) {
      throw new TypeError(`stream.${key} must be a positive integer, got ${String(limits[key])}`);
    }
  }
  if (!Number.isInteger(limits.replicas) || limits.replicas < 1 || limits.replicas > 5) {
    throw new TypeError(`stream.replicas must be an integer from 1 to 5, got ${String(limits.replicas)}`);
  }
  if (limits.duplicateWindowMs > limits.maxAgeMs) {
    throw new TypeError(
      `stream.duplicateWindowMs (${limits.duplicateWindowMs}) must not exceed stream.maxAgeMs (${limits.maxAgeMs}): JetStream refuses it`,
    );
  }
  return limits;
}

export type AppEventsStreamConfig = Partial<StreamConfig> & Pick<StreamConfig, "name" | "subjects">;

export function appEventsStreamConfig(limits: StreamLimits): AppEventsStreamConfig {
  return {
    name: appEventsStream,
    subjects: [appEventsSubjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_msgs: limits.maxMsgs,
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(limits.duplicateWindowMs),
    num_replicas: limits.replicas,
  };
}

export type EnsureStreamResult = { created: true } | { created: false; drift: string[] };

/**
 * Creates the app events stream if it is missing; idempotent, and safe when several
 * instances race to create it. An existing stream is never changed: shrinking limits
 * deletes messages, so a difference from the configured limits is only logged (apply it
 * with `nats stream edit USERS`).
 */
export async function ensureAppEventsStream(jsm: JetStreamManager, limits: StreamLimits, logger: Logger): Promise<EnsureStreamResult> {
  const wanted = appEventsStreamConfig(limits);
  const existing = await streamConfig(jsm);
  if (existing === null) {
    try {
      await jsm.streams.add(wanted);
      logger.info({ stream: appEventsStream, subjects: wanted.subjects, limits }, "created the app events stream");
      return { created: true };
    } catch (error) {
      // Another instance created it first (with other limits: identical ones succeed above).
      const raced = await streamConfig(jsm).catch(() => null);
      if (raced === null) throw error;
      return reportDrift(raced, wanted, logger);
    }
  }
  return reportDrift(existing, wanted, logger);
}

async function streamConfig(jsm: JetStreamManager): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(appEventsStream)).config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return null;
    throw error;
  }
}

const compared = ["max_age", "max_msgs", "max_bytes", "duplicate_window", "num_replicas", "storage", "discard"] as const;

function reportDrift(actual: StreamConfig, wanted: AppEventsStreamConfig, logger: Logger): EnsureStreamResult {
  const differing = compared.filter((key) => actual[key] !== wanted[key]);
  const details: Record<string, { actual: unknown; configured: unknown }> = Object.fromEntries(
    differing.map((key) => [key, { actual: actual[key], configured: wanted[key] }]),
  );
  if (!actual.subjects?.includes(appEventsSubjects)) details.subjects = { actual: actual.subjects, configured: wanted.subjects };
  const drift = Object.keys(details);
  if (drift.length > 0) {
    logger.warn(
      { stream: appEventsStream, drift: details },
      "the app events stream exists with other settings than configured; leaving it as it is",
    );
  }
  return { created: false, drift };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
