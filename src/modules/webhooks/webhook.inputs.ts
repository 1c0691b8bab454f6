import { Field, InputType, ObjectType } from 'type-graphql';

/** Basic credentials, sent as Authorization: Basic base64(username:password). */
@InputType()
export class BasicCredentialsInput {
  @Field(() => String) username!: string;
  @Field(() => String) password!: string;
}

/** Exactly one of basic or header. */
@InputType({ description: 'Exactly one of basic or header.' })
export class AuthorizationInput {
  @Field(() => BasicCredentialsInput, { nullable: true, description: 'Sent as Authorization: Basic base64(username:password).' })
  basic?: BasicCredentialsInput | null;

  @Field(() => String, { nullable: true, description: 'A complete Authorization header value, e.g. "Basic dXNlcjpwYXNz" or "Bearer abc".' })
  header?: string | null;
}

/** registerWebhook's input. */
@InputType()
export class RegisterWebhookInput {
  @Field(() => String) url!: string;
  @Field(() => AuthorizationInput, { nullable: true }) authorization?: AuthorizationInput | null;
}

/** updateWebhook's input: only what is given changes. */
@InputType()
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => AuthorizationInput, { nullable: true }) authorization?: AuthorizationInput | null;
  @Field(() => Boolean, { nullable: true }) removeAuthorization?: boolean | null;
}

/** What the API shows of the receiver's credentials: never the secret part. */
@ObjectType()
export class WebhookAuthorization {
  @Field(() => String, { description: 'The scheme of the Authorization header, e.g. Basic or Bearer.' }) scheme!: string;
  @Field(() => String, { nullable: true, description: 'The user name, for Basic credentials.' }) username!: string | null;
}
