import type { ModelCatalog } from './catalog.ts';
import type { ProviderCall } from './provider.ts';
import type { MockProvider } from './providers/mock.ts';
import type { CallContext, Completion, CompletionChunk, CompletionRequest, ModelGateway } from './types.ts';

/**
 * The one way to call a model. Each call: resolve the model (aliases), then run it on the provider.
 */
export class Gateway implements ModelGateway {
  constructor(
    readonly catalog: ModelCatalog,
    /** The built-in mock provider, for scripting replies in tests and demos. */
    readonly mock: MockProvider,
  ) {}

  async complete(request: CompletionRequest, ctx: CallContext): Promise<Completion> {
    const model = this.catalog.resolve(request.model);
    const completion = await model.provider.complete(this.callFor(request, model.model, ctx));
    return { ...completion, model: model.id };
  }

  async *stream(request: CompletionRequest, ctx: CallContext): AsyncIterable<CompletionChunk> {
    const model = this.catalog.resolve(request.model);
    for await (const chunk of model.provider.stream(this.callFor(request, model.model, ctx))) {
      yield chunk.type === 'finish' ? { ...chunk, model: model.id } : chunk;
    }
  }

  private callFor(request: CompletionRequest, model: string, ctx: CallContext): ProviderCall {
    return {
      request: { ...request, model },
      signal: ctx.signal ?? new AbortController().signal,
      requestId: ctx.requestId,
    };
  }
}
