// The namespace rule of an environment: a template over {topology}, {team}, {env}, {engine}.

export interface NamespaceVars {
  topology: string;
  team: string;
  env: string;
  engine: string;
}

/** Fills the rule; unknown placeholders are left as written so validation can point at them. */
export function renderNamespace(rule: string, vars: NamespaceVars): string {
  return rule.replace(/\{(topology|team|env|engine)\}/g, (_m, key: keyof NamespaceVars) => vars[key]);
}
