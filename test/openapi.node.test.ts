/**
 * The committed API description (src/routes/openapi.generated.ts) is a valid OpenAPI 3.1 document: checked by a
 * maintained validator against the specification's own schema, its JSON Schemas against the 2020-12
 * meta-schema, and the rules the schema cannot express (path templates, unique operation ids).
 * Runs in Node (the validator reads its schemas from disk); test/openapi.test.ts checks in workerd
 * that the document matches the routes.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { OPENAPI_DOCUMENT } from "../src/routes/openapi.generated";

type Json = Record<string, any>;

const committed: Json = JSON.parse(OPENAPI_DOCUMENT);
const copy = (): Json => structuredClone(committed);

async function specificationErrors(document: Json): Promise<unknown> {
  const validator = new Validator();
  const result = await validator.validate(document);
  return result.valid ? (validator.version === "3.1" ? undefined : `version ${validator.version}`) : result.errors;
}

const operations = (document: Json) =>
  Object.entries(document.paths as Json).flatMap(([path, item]) => Object.entries(item as Json).map(([method, operation]) => ({ path, method, operation: operation as Json })));

/** Every JSON Schema of the document: the components' and the parameters'. */
const schemasOf = (document: Json): [string, Json][] => [
  ...Object.entries(document.components.schemas as Json).map(([name, schema]): [string, Json] => [`#/components/schemas/${name}`, schema]),
  ...operations(document).flatMap(({ path, method, operation }) =>
    (operation.parameters ?? []).map((parameter: Json): [string, Json] => [`${method} ${path} ${parameter.name}`, parameter.schema]),
  ),
];

function metaSchemaErrors(document: Json): string[] {
  const ajv = new Ajv2020({ strict: true, validateFormats: false });
  return schemasOf(document).flatMap(([where, schema]) => (ajv.validateSchema(schema) ? [] : [`${where}: ${ajv.errorsText(ajv.errors)}`]));
}

/** What the OpenAPI schema cannot check: each `{name}` of a path is a declared path parameter and back, ids are unique. */
function ruleErrors(document: Json): string[] {
  const errors: string[] = [];
  const ids = new Set<string>();
  for (const { path, method, operation } of operations(document)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
    const declared = (operation.parameters ?? []).filter((p: Json) => p.in === "path").map((p: Json) => p.name).sort();
    if (JSON.stringify(templated) !== JSON.stringify(declared)) errors.push(`${method} ${path}: path parameters ${declared} for the template's ${templated}`);
    if (ids.has(operation.operationId)) errors.push(`${method} ${path}: operationId ${operation.operationId} used twice`);
    ids.add(operation.operationId);
  }
  return errors;
}

describe("the committed API description", () => {
  it("is a valid OpenAPI 3.1 document whose every $ref resolves", async () => {
    expect(committed.openapi).toBe("3.1.0");
    expect(await specificationErrors(committed)).toBeUndefined();
  });

  it("holds only valid JSON Schema 2020-12 schemas", () => {
    expect(schemasOf(committed).length).toBeGreaterThan(20);
    expect(metaSchemaErrors(committed)).toEqual([]);
  });

  it("declares each path parameter of each template, and names each operation once", () => {
    expect(ruleErrors(committed)).toEqual([]);
  });

  it("would be refused with a broken reference, a malformed part, a bad schema or a missing parameter (self-check)", async () => {
    const brokenRef = copy();
    brokenRef.paths["/auth/me"].get.responses["200"].content["application/json"].schema.$ref = "#/components/schemas/Nobody";
    expect(await specificationErrors(brokenRef)).toBeDefined();

    const malformed = copy();
    malformed.paths["/auth/login"].post.requestBody.content = "application/json";
    expect(await specificationErrors(malformed)).toBeDefined();

    const badSchema = copy();
    badSchema.components.schemas.User.properties.email = { type: "text" };
    expect(metaSchemaErrors(badSchema)).toEqual([expect.stringContaining("#/components/schemas/User")]);

    const missingParameter = copy();
    missingParameter.paths["/auth/sessions/{id}"].delete.parameters = [];
    expect(ruleErrors(missingParameter)).toEqual([expect.stringContaining("/auth/sessions/{id}")]);
  });
});
