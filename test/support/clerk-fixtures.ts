import type { UserJSON } from "@clerk/backend";
import { Webhook } from "svix";
import { frontendOrigin, testPublishableKey, testSecretKey } from "./clerk-tokens.js";

/** A webhook signing secret in Svix's format, made for the test run. */
export const testSigningSecret = `whsec_${Buffer.from("clerk-mongo-sync test secret 0123456789").toString("base64")}`;

export interface UserFixtureOptions {
  id: string;
  updatedAt: number;
  createdAt?: number;
  firstName?: string | null;
  lastName?: string | null;
  username?: string | null;
  emails?: string[];
  /** Index into `emails` of the primary address, or null for none. */
  primaryIndex?: number | null;
  publicMetadata?: Record<string, unknown>;
  banned?: boolean;
  locked?: boolean;
}

/** A user payload shaped like Clerk's documented `user.created` / `user.updated` data. */
export function clerkUser(options: UserFixtureOptions): UserJSON {
  const createdAt = options.createdAt ?? options.updatedAt;
  const emails = options.emails ?? [`${options.id}@example.com`];
  const emailAddresses = emails.map((email, index) => ({
    id: `idn_${options.id}_${index}`,
    object: "email_address" as const,
    email_address: email,
    verification: {
      object: "verification" as never,
      id: `ver_${options.id}_${index}`,
      status: "verified" as const,
      strategy: "email_code",
      attempts: 1,
      expire_at: createdAt + 600_000,
    },
    linked_to: [],
  }));
  const primaryIndex = options.primaryIndex === undefined ? 0 : options.primaryIndex;
  return {
    id: options.id,
    object: "user",
    username: options.username ?? null,
    first_name: options.firstName === undefined ? "Ada" : options.firstName,
    last_name: options.lastName === undefined ? "Lovelace" : options.lastName,
    image_url: `https://img.clerk.com/${options.id}.png`,
    has_image: true,
    primary_email_address_id: primaryIndex === null ? null : (emailAddresses[primaryIndex]?.id ?? null),
    primary_phone_number_id: null,
    primary_web3_wallet_id: null,
    password_enabled: true,
    two_factor_enabled: false,
    totp_enabled: false,
    backup_code_enabled: false,
    email_addresses: emailAddresses,
    phone_numbers: [],
    web3_wallets: [],
    organization_memberships: null,
    external_accounts: [],
    enterprise_accounts: [],
    password_last_updated_at: null,
    public_metadata: options.publicMetadata ?? {},
    private_metadata: { internal: "never stored" },
    unsafe_metadata: {},
    external_id: null,
    last_sign_in_at: null,
    banned: options.banned ?? false,
    locked: options.locked ?? false,
    deprovisioned: false,
    lockout_expires_in_seconds: null,
    verification_attempts_remaining: 100,
    created_at: createdAt,
    updated_at: options.updatedAt,
    last_active_at: null,
    create_organization_enabled: true,
    create_organizations_limit: null,
    delete_self_enabled: true,
    legal_accepted_at: null,
    locale: null,
    timezone: null,
  };
}

/** Clerk's `user.deleted` data: no `updated_at`. */
export function clerkUserDeleted(id: string) {
  return { object: "user", id, deleted: true };
}

/** Clerk's webhook envelope around `data`. */
export function clerkEnvelope(type: string, data: unknown, timestamp: number) {
  return {
    data,
    object: "event",
    type,
    timestamp,
    instance_id: "ins_test",
    event_attributes: { http_request: { client_ip: "203.0.113.7", user_agent: "Mozilla/5.0 (test)" } },
  };
}

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

/** Signs `body` exactly as Svix does (HMAC-SHA256 over `${id}.${timestamp}.${body}`). */
export function signDelivery(
  body: string,
  options: { id: string; secret?: string; at?: Date; extraSecrets?: string[] },
): SignedDelivery {
  const at = options.at ?? new Date();
  const secrets = [options.secret ?? testSigningSecret, ...(options.extraSecrets ?? [])];
  const signatures = secrets.map((secret) => new Webhook(secret).sign(options.id, at, body));
  return {
    body,
    headers: {
      "content-type": "application/json",
      "svix-id": options.id,
      "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
      "svix-signature": signatures.join(" "),
    },
  };
}

/**
 * The environment a test API runs with: Clerk's keys (the JWT key only when given: without it
 * Clerk fetches its keys from the Backend API), the test frontend as the authorized party, and
 * Inngest in dev mode. Spread the test's own variables (MongoDB, overrides) over it.
 */
export function testClerkEnv(jwtKey?: string): Record<string, string> {
  return {
    CLERK_WEBHOOK_SIGNING_SECRET: testSigningSecret,
    CLERK_SECRET_KEY: testSecretKey,
    CLERK_PUBLISHABLE_KEY: testPublishableKey,
    ...(jwtKey && { CLERK_JWT_KEY: jwtKey }),
    CLERK_AUTHORIZED_PARTIES: frontendOrigin,
    INNGEST_DEV: "1",
  };
}
