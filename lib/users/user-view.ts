import { z } from "zod";
import { fieldsIn, jsonShape, projectJson } from "../contract/field-table.js";
import { userFields } from "./user-contract.js";
import type { UserDocument } from "./user-model.js";

/**
 * What the API returns for a user: the user contract's `view` fields (lib/users/user-contract.ts),
 * each read from the stored document by its `toJson`. This schema is the contract the OpenAPI
 * document (`User`) and the typed client derive from.
 */
const viewFields = fieldsIn(userFields, "view");

export const userViewSchema = z.object(jsonShape(userFields, "view"));

export type UserView = z.infer<typeof userViewSchema>;

export function toUserView(doc: UserDocument): UserView {
  return projectJson(userFields, viewFields, doc) as UserView;
}
