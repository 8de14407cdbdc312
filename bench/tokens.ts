import { exportSPKI, generateKeyPair, SignJWT } from "jose";

/** A Clerk instance made up for the bench: its own RS256 key, verified networkless through CLERK_JWT_KEY. */
export const frontendApiHost = "clerk.bench.example.test";
export const frontendOrigin = "https://app.bench.example.test";

export interface BenchClerk {
  /** SPKI PEM of the bench key (CLERK_JWT_KEY). */
  jwtKey: string;
  /** The Clerk variables the API needs, as the environment would hold them. */
  env: Record<string, string>;
  /** One session token per user id, valid for `lifetimeSeconds`. */
  sign(userIds: string[], lifetimeSeconds: number): Promise<Map<string, string>>;
}

export async function createBenchClerk(): Promise<BenchClerk> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwtKey = await exportSPKI(publicKey);
  const env = {
    CLERK_JWT_KEY: jwtKey,
    CLERK_PUBLISHABLE_KEY: `pk_test_${Buffer.from(`${frontendApiHost}$`).toString("base64")}`,
    CLERK_SECRET_KEY: "sk_test_clerk_mongo_sync_bench_0123456789",
    CLERK_AUTHORIZED_PARTIES: frontendOrigin,
    CLERK_WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from("clerk-mongo-sync bench secret 0123456789").toString("base64")}`,
  };

  async function sign(userIds: string[], lifetimeSeconds: number): Promise<Map<string, string>> {
    const now = Math.floor(Date.now() / 1000);
    const tokens = new Map<string, string>();
    for (const userId of userIds) {
      const token = await new SignJWT({ sid: `sess_${userId}`, azp: frontendOrigin, v: 2 })
        .setProtectedHeader({ alg: "RS256", kid: "ins_bench", typ: "JWT" })
        .setSubject(userId)
        .setIssuer(`https://${frontendApiHost}`)
        .setIssuedAt(now - 5)
        .setNotBefore(now - 5)
        .setExpirationTime(now + lifetimeSeconds)
        .sign(privateKey);
      tokens.set(userId, token);
    }
    return tokens;
  }

  return { jwtKey, env, sign };
}
