import { NonRetriableError } from "inngest";
import { type Mailer, MailDeliveryError } from "../../lib/email/mailer.js";
import { markWelcomeSent, sendWelcomeOnce, WelcomeEmailOutcomeUnknownError } from "../../lib/email/send-welcome-once.js";
import type { UserModel } from "../../lib/users/user-model.js";
import type { InngestClient } from "../client.js";
import { appUserCreated } from "../events.js";

export interface SendWelcomeEmailDeps {
  /** Resolved lazily so that serving the functions never waits on the database or SMTP. */
  users: () => Promise<UserModel>;
  mailer: () => Promise<Mailer>;
}

/** What `createFunctions` needs for this function (nested: its `users` is the model, not the store). */
export interface WelcomeEmailFunctionDeps {
  welcomeEmail: SendWelcomeEmailDeps;
}

/**
 * `app/user.created` → the welcome email, at most once per user. The guarantee is the
 * claim in MongoDB (`lib/email/send-welcome-once.ts`); Inngest's idempotency key (one run
 * per user per 24 h) and the per-user concurrency limit only make losing runs rarer.
 */
export function createSendWelcomeEmail(inngest: InngestClient, deps: SendWelcomeEmailDeps) {
  return inngest.createFunction(
    {
      id: "send-welcome-email",
      triggers: [appUserCreated],
      idempotency: "event.data.userId",
      concurrency: { limit: 1, key: "event.data.userId" },
    },
    async ({ event, step, logger }) => {
      const { userId } = event.data;
      const outcome = await step.run("send", async () => {
        const [users, mailer] = await Promise.all([deps.users(), deps.mailer()]);
        try {
          return await sendWelcomeOnce({ users, mailer }, userId);
        } catch (error) {
          // The claim is kept: a retry would only skip. Say so now instead of three times.
          if (error instanceof WelcomeEmailOutcomeUnknownError) throw new NonRetriableError(error.message, { cause: error });
          // The claim was released, but the server will refuse this message again.
          if (error instanceof MailDeliveryError && error.permanent) throw new NonRetriableError(error.message, { cause: error });
          throw error;
        }
      });
      if (outcome.kind === "sent") {
        await step.run("mark-sent", async () => markWelcomeSent(await deps.users(), userId));
      }
      logger.info({ eventId: event.id, userId, outcome }, "welcome email");
      return outcome;
    },
  );
}
