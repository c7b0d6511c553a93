/** The parts of a synthesized CloudFormation template that the local runtime reads. */

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
}

export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Parameters?: Readonly<Record<string, { Default?: unknown }>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Mappings?: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  readonly Outputs?: Readonly<Record<string, { Value: unknown; Condition?: string }>>;
}

/** The template's resources of one type, as `[logicalId, resource]` pairs. */
export function resourcesOfType(template: Template, type: string): Array<[string, TemplateResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}
