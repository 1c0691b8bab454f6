import { Field, InputType, ObjectType } from 'type-graphql';
import { ApiToken, Role } from './api-token.entity.js';

/** createApiToken's input. */
@InputType()
export class CreateApiTokenInput {
  @Field(() => Role) role!: Role;
  @Field(() => String, { nullable: true }) label?: string | null;
}

/** The one response that carries a token's secret. */
@ObjectType()
export class CreatedApiToken {
  @Field(() => String, { description: 'The bearer token. Shown once.' }) token!: string;
  @Field(() => ApiToken) apiToken!: ApiToken;
}
