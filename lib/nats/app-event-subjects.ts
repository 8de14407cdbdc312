/**
 * Where app events live on NATS, and what a message looks like: the contract between
 * the publisher (lib/nats/app-event-publisher.ts) and every consumer (docs/events.md).
 */

/** The JetStream stream that stores every app event. */
export const appEventsStream = "USERS";

/** Every app event's subject starts with this; the stream captures `users.>`. */
const appEventSubjectPrefix = "users.";
export const appEventsSubjects = `${appEventSubjectPrefix}>`;

/** Event name → subject. A new app event gets its subject here, or it cannot be published. */
export const appEventSubjects = {
  "app/user.created": "users.user.created",
  "app/user.updated": "users.user.updated",
  "app/user.deleted": "users.user.deleted",
  "app/user.signed_in": "users.user.signed_in",
  "app/user.signed_out": "users.user.signed_out",
  // Under `users.` too: the one stream (and every existing `users.>` consumer) captures them without a change.
  "app/organization.created": "users.organization.created",
  "app/organization.updated": "users.organization.updated",
  "app/organization.deleted": "users.organization.deleted",
  "app/membership.created": "users.membership.created",
  "app/membership.updated": "users.membership.updated",
  "app/membership.deleted": "users.membership.deleted",
} as const;

export type AppEventName = keyof typeof appEventSubjects;

export function isAppEventName(name: string): name is AppEventName {
  return Object.hasOwn(appEventSubjects, name);
}

/** The headers every message carries. `Nats-Msg-Id` is the app event id: JetStream drops a repeat. */
export const appEventHeaders = {
  msgId: "Nats-Msg-Id",
  correlationId: "Correlation-Id",
  contentType: "Content-Type",
} as const;

/** The JSON body of every message. `data` is the Inngest app event's `data`, unchanged. */
export interface AppEventEnvelope {
  /** The app event id (deterministic: derived from the change it reports). */
  id: string;
  /** The Inngest event name, e.g. `app/user.created` or `app/membership.deleted`. */
  name: AppEventName;
  /** The payload version (`data.v`), 1 today. */
  v: number;
  data: Record<string, unknown>;
  /** When the event was sent to Inngest, in ms since the epoch. */
  ts: number;
}
