/** How models and schedulers are named on every page: the Generate form, the job cards,
 * the gallery and its lightbox, the plan cards. */
import { useGetModelCatalogQuery } from './renderApi'
import type { Model, Scheduler } from './types'

/** InvokeAI's scheduler keys as people know them (the names InvokeAI's own UI shows). */
export const SCHEDULER_NAMES: Record<Scheduler, string> = {
  ddim: 'DDIM',
  ddpm: 'DDPM',
  deis: 'DEIS',
  deis_k: 'DEIS Karras',
  lms: 'LMS',
  lms_k: 'LMS Karras',
  pndm: 'PNDM',
  heun: 'Heun',
  heun_k: 'Heun Karras',
  euler: 'Euler',
  euler_k: 'Euler Karras',
  euler_a: 'Euler Ancestral',
  kdpm_2: 'KDPM 2',
  kdpm_2_k: 'KDPM 2 Karras',
  kdpm_2_a: 'KDPM 2 Ancestral',
  kdpm_2_a_k: 'KDPM 2 Ancestral Karras',
  dpmpp_2s: 'DPM++ 2S',
  dpmpp_2s_k: 'DPM++ 2S Karras',
  dpmpp_sde: 'DPM++ SDE',
  dpmpp_sde_k: 'DPM++ SDE Karras',
  dpmpp_2m: 'DPM++ 2M',
  dpmpp_2m_k: 'DPM++ 2M Karras',
  dpmpp_2m_sde: 'DPM++ 2M SDE',
  dpmpp_2m_sde_k: 'DPM++ 2M SDE Karras',
  dpmpp_3m: 'DPM++ 3M',
  dpmpp_3m_k: 'DPM++ 3M Karras',
  unipc: 'UniPC',
  unipc_k: 'UniPC Karras',
  lcm: 'LCM',
  tcd: 'TCD',
}

/** A scheduler's name; a key the list does not know (an older job's) reads as itself. */
export function schedulerName(key: string | null | undefined): string {
  if (!key) return '—'
  return (SCHEDULER_NAMES as Record<string, string>)[key] ?? key
}

/** A model's display name from a list of models; its key when the list does not have it. */
export function modelName(key: string, models: readonly Pick<Model, 'key' | 'name'>[] | undefined): string {
  return models?.find((m) => m.key === key)?.name ?? key
}

/** Names models by key from the catalog of every plan's models (public, cached once). */
export function useModelName(): (key: string) => string {
  const catalog = useGetModelCatalogQuery()
  return (key) => modelName(key, catalog.data)
}

/** The models a plan card lists: the plan's, named as the Generate page names them, then
 * the test models that a local run offers on every plan (so the card and the Generate
 * page's list agree). */
export function planModels(
  allowed: readonly string[],
  catalog: readonly Pick<Model, 'key' | 'name' | 'test'>[] | undefined,
): { key: string; name: string }[] {
  const listed = allowed.map((key) => ({ key, name: modelName(key, catalog) }))
  const everywhere = (catalog ?? []).filter((m) => m.test && !allowed.includes(m.key)).map((m) => ({ key: m.key, name: m.name }))
  return [...listed, ...everywhere]
}
