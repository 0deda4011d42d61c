import { PipelineInputError } from '../errors';

/** The alias the model server serves and the deploy stage moves. */
export const PRODUCTION_ALIAS = 'production';
/** The alias every newly registered version takes, so that "the latest candidate" needs no lookup by date. */
export const CANDIDATE_ALIAS = 'candidate';

/**
 * Every alias, the two above included, is a lowercase identifier: it is typed on command lines and
 * shown in tables, so no spaces, no case games, and no leading digit (a digit means a version number
 * wherever a version or an alias is accepted).
 */
export const ALIAS_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

export const ALIAS_NAME_RULE = `production, candidate, or a lowercase letter followed by up to 62 lowercase letters, digits, "_" or "-" (${ALIAS_NAME_PATTERN.source})`;

export function isAliasName(alias: string): boolean {
  return ALIAS_NAME_PATTERN.test(alias);
}

/** `alias` when it follows the rule; otherwise an error that names it and the rule. */
export function checkAliasName(alias: string): string {
  if (!isAliasName(alias)) throw new PipelineInputError(`"${alias}" is not a valid alias name: use ${ALIAS_NAME_RULE}`);
  return alias;
}
