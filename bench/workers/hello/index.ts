/** Reference `hello`: a constant JSON body. The floor of any request through workerd and wrangler dev. */
const BODY = JSON.stringify({ status: "ok" });

export default {
  fetch: () => new Response(BODY, { headers: { "Content-Type": "application/json" } }),
};
