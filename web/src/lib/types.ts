import type { paths } from './api';

/** The JSON a GET answers with 200, from the generated OpenAPI types. */
export type Ok<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { 'application/json': infer T } } } };
}
  ? T
  : never;

export type Agent = Ok<'/v1/agents/{id}'>;
export type Template = Ok<'/v1/templates/{id}'>;
export type Team = Ok<'/v1/multi-agents/{id}'>;
export type Message = Ok<'/v1/sessions/{id}/messages'>['data'][number];
export type AgentInput = NonNullable<
  paths['/v1/agents']['post']['requestBody']
>['content']['application/json'];
