import { PAGE_SIZE } from '../../components/Pager';
import { api, type paths, unwrap } from '../../lib/api';
import { defineInfiniteQuery, defineQuery } from '../../lib/query';

type TasksQuery = NonNullable<paths['/v1/tasks']['get']['parameters']['query']>;
export type TaskFilters = Pick<TasksQuery, 'agent_id' | 'task_type' | 'since' | 'status'>;
export type TaskStatus = NonNullable<TasksQuery['status']>;
type TaskPage = paths['/v1/tasks']['get']['responses'][200]['content']['application/json'];
type Task = paths['/v1/tasks/{id}']['get']['responses'][200]['content']['application/json'];
type Runs = paths['/v1/runs']['get']['responses'][200]['content']['application/json']['data'];
type Callbacks =
  paths['/v1/tasks/{id}/callbacks']['get']['responses'][200]['content']['application/json']['data'];
type Schedules = paths['/v1/schedules']['get']['responses'][200]['content']['application/json'];

declare module '../../lib/query' {
  interface QueryShapes {
    'tasks/list': TaskPage;
    'tasks/column': TaskPage;
    'tasks/detail': Task;
    'tasks/callbacks': Callbacks;
    'runs/of-task': Runs;
    'schedules/page': Schedules;
  }
}

/** Tasks under filters, in pages of 200 fetched as the virtual list nears them. */
export const taskList = defineInfiniteQuery(
  'tasks/list',
  async (offset: number, filters: TaskFilters) =>
    unwrap(await api.GET('/v1/tasks', { params: { query: { ...filters, limit: 200, offset } } })),
  {
    first: 0,
    next: (last) =>
      last.offset + last.data.length < last.total ? last.offset + last.data.length : undefined,
  },
);

/** One column of the board: the first 30 tasks of a status. */
export const taskColumn = defineQuery('tasks/column', async (filters: TaskFilters) =>
  unwrap(await api.GET('/v1/tasks', { params: { query: { ...filters, limit: 30, offset: 0 } } })),
);

export const taskDetail = defineQuery('tasks/detail', async (id: string) =>
  unwrap(await api.GET('/v1/tasks/{id}', { params: { path: { id } } })),
);

/** The task's runs (a retry makes a new one). */
export const runsOfTask = defineQuery(
  'runs/of-task',
  async (id: string) =>
    unwrap(await api.GET('/v1/runs', { params: { query: { task_id: id, limit: 20 } } })).data,
);

/** Its callback deliveries; keyed by the attempts so each new one is read. */
export const taskCallbacks = defineQuery(
  'tasks/callbacks',
  async (id: string, _attempts: number | undefined) =>
    unwrap(await api.GET('/v1/tasks/{id}/callbacks', { params: { path: { id } } })).data,
);

export const schedulePage = defineQuery('schedules/page', async (offset: number) =>
  unwrap(await api.GET('/v1/schedules', { params: { query: { limit: PAGE_SIZE, offset } } })),
);
