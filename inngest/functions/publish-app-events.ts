import { NonRetriableError } from "inngest";
import { UnpublishableAppEventError, type AppEventPublisher } from "../../lib/nats/app-event-publisher.js";
import type { InngestClient } from "../client.js";
import { appEvents } from "../events.js";

export interface PublishAppEventsDeps {
  /** The process's JetStream publisher, or `null` when NATS_URL is not set. */
  publisher: () => Promise<AppEventPublisher | null>;
}

/**
 * Forwards every app event to NATS JetStream (subjects `users.user.*`, `users.organization.*`
 * and `users.membership.*`, see docs/events.md).
 * A function of its own, so a broker outage never slows or fails the sync: the publish
 * step fails fast and Inngest retries it with backoff (about 4 h 25 m over 10 retries),
 * delaying messages, not losing them. The message id is the app event id, so a retry
 * after a lost PubAck is dropped by JetStream instead of stored twice.
 */
export function createPublishAppEvents(inngest: InngestClient, deps: PublishAppEventsDeps) {
  return inngest.createFunction(
    {
      id: "publish-app-events",
      triggers: [...appEvents],
      retries: 10,
      onFailure: ({ event, error, logger }) => {
        const failed = event.data.event;
        logger.error(
          { eventId: failed.id, eventName: failed.name, reason: error.message },
          "app event not published to NATS after every retry: replay the run from Inngest once the broker is back",
        );
      },
    },
    async ({ event, step }) => {
      const publisher = await deps.publisher();
      if (!publisher) return { skipped: "NATS_URL not set" } as const;
      const id = event.id;
      if (!id) throw new NonRetriableError(`${event.name} has no event id: it cannot be published exactly once`);

      const ack = await step.run("publish", async () => {
        try {
          return await publisher.publish({ id, name: event.name, data: event.data, ts: event.ts });
        } catch (error) {
          if (error instanceof UnpublishableAppEventError) throw new NonRetriableError(error.message, { cause: error });
          throw error;
        }
      });
      return { published: id, ...ack };
    },
  );
}
