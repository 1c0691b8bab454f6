import type { MikroORM } from '@mikro-orm/sql';
import { badInput } from '../../lib/app-error.js';
import { Role } from '../roles.js';
import type { EntityManager } from '@mikro-orm/sql';
import { Organization } from './organization.entity.js';

/** Issues tokens inside a caller's transaction: the api-tokens module implements it (this module does not import it). */
export interface TokenIssuer {
  createInTransaction(em: EntityManager, organizationId: string, role: Role, label: string | null): Promise<{ token: string; apiToken: { id: string } }>;
}

/** Creates organizations (from the CLI) and reads them. */
export class OrganizationService {
  constructor(
    private readonly orm: MikroORM,
    private readonly apiTokens: TokenIssuer,
  ) {}

  /** A new organization and its first ADMIN token, in one transaction so neither exists alone. */
  async create(name: string): Promise<{ organization: Organization; token: string }> {
    const trimmed = typeof name === 'string' ? name.trim() : '';
    if (trimmed.length === 0) throw badInput('name', 'name must not be empty');
    if (trimmed.length > 200) throw badInput('name', 'name must be at most 200 characters');
    return this.orm.em.fork().transactional(async (em) => {
      const organization = em.create(Organization, { name: trimmed });
      await em.flush();
      const { token } = await this.apiTokens.createInTransaction(em, organization.id, Role.ADMIN, 'initial admin token');
      return { organization, token };
    });
  }

  /** For the CLI's `token create`, which names its organization by id. */
  async createToken(organizationId: string, role: Role, label: string | null): Promise<{ token: string; tokenId: string }> {
    return this.orm.em.fork().transactional(async (em) => {
      const organization = await em.findOne(Organization, { id: organizationId });
      if (!organization) throw badInput('org', `no organization ${organizationId}`);
      const created = await this.apiTokens.createInTransaction(em, organizationId, role, label);
      return { token: created.token, tokenId: created.apiToken.id };
    });
  }

  /** Every organization, oldest first: for the CLI's `org list`. */
  async list(): Promise<Organization[]> {
    return this.orm.em.fork().find(Organization, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** One organization, or null. */
  async get(id: string): Promise<Organization | null> {
    return this.orm.em.fork().findOne(Organization, { id });
  }
}
