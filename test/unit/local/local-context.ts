/** A template's intrinsic context as the local runtime builds it, for the tests of what reads the template. */
import type { IntrinsicContext } from '../../../local/intrinsics';
import { type LocalEndpoints, resolvePhysicalIds } from '../../../local/physical-ids';
import type { Template, TemplateResource } from '../../../local/template';

export const ENDPOINTS: LocalEndpoints = {
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'Local',
  awsEndpoint: 'http://127.0.0.1:4566',
  apiUrl: 'http://127.0.0.1:3000',
};

export function localContext(resources: Record<string, TemplateResource>): IntrinsicContext {
  const template: Template = { Resources: resources };
  return {
    template,
    region: ENDPOINTS.region,
    accountId: ENDPOINTS.accountId,
    stackName: ENDPOINTS.stackName,
    resources: resolvePhysicalIds(template, ENDPOINTS),
  };
}
