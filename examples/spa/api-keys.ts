/**
 * The SPA's API-key section: create a key (shown once, with a copy button), list the user's keys,
 * revoke one or all. The key lives in the page only until the user dismisses it or signs out, and
 * never reaches the event log or the "last answer" box.
 */
import type { ApiKey, AuthClient, CreatedApiKey } from "@edge-token-service/client";
import { revocableRow } from "./table-row.js";

interface Page {
  $: <T extends HTMLElement = HTMLElement>(id: string) => T;
  action: (id: string, fn: () => Promise<unknown>, event?: string) => void;
  showValue: (label: string, value: unknown) => void;
}

export function setUpApiKeys(client: AuthClient, { $, action, showValue }: Page) {
  const input = (id: string) => $<HTMLInputElement>(id).value.trim();

  function hideNewKey() {
    $("new-key-value").textContent = "";
    $("new-key-id").textContent = "";
    $("copy-status").textContent = "";
    $("new-key").hidden = true;
  }

  function showNewKey(created: CreatedApiKey) {
    $("new-key-value").textContent = created.key;
    $("new-key-id").textContent = created.id;
    $("new-key").hidden = false;
  }

  async function listKeys() {
    const keys = await client.listApiKeys();
    showValue(`listApiKeys(): ${keys.length}`, { api_keys: keys });
    $("api-keys").replaceChildren(...keys.map(keyRow));
  }

  function keyRow(key: ApiKey): HTMLTableRowElement {
    const expired = key.expires_at !== null && Date.parse(key.expires_at) <= Date.now();
    const cells = [key.name, `${key.prefix}…`, key.scopes.join(" ") || "(none)", key.created_at, key.last_used_at ?? "never", expired ? `expired ${key.expires_at}` : key.expires_at ?? "never"];
    const revoke = async () => {
      await client.revokeApiKey(key.id);
      showValue(`revokeApiKey(${key.id})`, "done: the key and its access tokens are refused");
      await listKeys();
    };
    const row = revocableRow(cells, "revoke-key", revoke, (err) => showValue("revokeApiKey() failed", String(err)));
    row.dataset.keyId = key.id;
    return row;
  }

  action(
    "key-form",
    async () => {
      const scopes = input("key-scopes");
      const days = input("key-days");
      const created = await client.createApiKey({
        name: input("key-name"),
        ...(scopes ? { scopes: scopes.split(/\s+/) } : {}),
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      $<HTMLFormElement>("key-form").reset();
      showNewKey(created);
      // Everything but the key itself.
      showValue(`createApiKey(): ${created.prefix}… created`, { id: created.id, name: created.name, scopes: created.scopes, expires_at: created.expires_at });
      await listKeys();
    },
    "submit",
  );

  action("copy-key", async () => {
    await navigator.clipboard.writeText($("new-key-value").textContent ?? "");
    $("copy-status").textContent = "copied";
  });

  action("dismiss-key", async () => hideNewKey());

  action("list-keys", listKeys);

  action("revoke-all-keys", async () => {
    await client.revokeAllApiKeys();
    showValue("revokeAllApiKeys()", "done: every key is refused");
    await listKeys();
  });

  return {
    /** Signed out: no key, and no list, stays on the page. */
    clear() {
      hideNewKey();
      $("api-keys").replaceChildren();
    },
  };
}
