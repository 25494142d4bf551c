/**
 * The contract profiles (docs/contract.md, "About this contract"): which LiteLLM generation's rules
 * a gateway follows where the generations disagree. The suite's catalogue (features/requirements.yaml)
 * says which requirements each profile judges; the reference gateway follows the profile it is
 * started with (CLI_SSO_CONTRACT_PROFILE).
 */

/** Oldest first: `litellm-v3` is the documented `litellm-proxy login`, `litellm-v4` current LiteLLM (`lite`). */
export const CONTRACT_PROFILES = ['litellm-v3', 'litellm-v4'] as const;

/** A contract profile's name: which generation of LiteLLM's rules a run judges, or a gateway follows. */
export type ContractProfile = (typeof CONTRACT_PROFILES)[number];

/** The newest profile, the one used when none is named. */
export const NEWEST_CONTRACT_PROFILE: ContractProfile = 'litellm-v4';
