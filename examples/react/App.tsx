import { Show, SignInButton, SignOutButton, useAuth, useUser } from "@clerk/react";
import { useState } from "react";
import { DeleteAccount, ExportData } from "./AccountActions";
import { Activity } from "./Activity";
import { EditProfile, ProfileCard } from "./Profile";
import { ProblemNotice } from "./ProblemNotice";
import { useMe } from "./useMe";

export function App() {
  const [farewell, setFarewell] = useState(false);
  return (
    <main>
      <header>
        <h1>Your account</h1>
        <Show when="signed-in">
          <SignedInAs />
        </Show>
      </header>
      <Show when="signed-out">
        {farewell && <p role="status">Your account has been deleted. Goodbye!</p>}
        <section aria-labelledby="welcome-title">
          <h2 id="welcome-title">Welcome</h2>
          <p>Sign in to see and manage your account.</p>
          <SignInButton mode="modal">
            <button type="button">Sign in</button>
          </SignInButton>
        </section>
      </Show>
      <Show when="signed-in">
        <Account onDeleted={() => setFarewell(true)} />
      </Show>
    </main>
  );
}

function SignedInAs() {
  const { user } = useUser();
  return (
    <p className="who">
      {user?.primaryEmailAddress?.emailAddress ?? user?.id}{" "}
      <SignOutButton>
        <button type="button">Sign out</button>
      </SignOutButton>
    </p>
  );
}

function Account({ onDeleted }: { onDeleted: () => void }) {
  const { signOut } = useAuth();
  const { me, error, loading, reload, update } = useMe();
  return (
    <>
      {error && <ProblemNotice error={error} onRetry={() => void reload()} />}
      {!me && !error && <p aria-busy="true">Loading your profile…</p>}
      {me && (
        <>
          <ProfileCard me={me} loading={loading} onRefresh={() => void reload()} />
          <EditProfile key={me.id} me={me} onSave={update} />
          <Activity />
          <ExportData />
          <DeleteAccount
            onDeleted={() => {
              onDeleted();
              void signOut();
            }}
          />
        </>
      )}
    </>
  );
}
