PRAGMA user_version = 5;
BEGIN TRANSACTION;
CREATE TABLE apicredential (
	ak VARCHAR(64) NOT NULL, 
	sk VARCHAR NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (ak), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
INSERT INTO "apicredential" VALUES('5Y5A9HHYN86SOJ81C9PR','3NeNF3XIZCPdn4GGoT2Hx7QmlJ6trPASMCFIlE2w','demo','2026-01-31 10:00:00.000000',NULL);
CREATE TABLE attempt (
	id INTEGER NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	manual BOOLEAN NOT NULL, 
	state VARCHAR NOT NULL, 
	due_at DATETIME NOT NULL, 
	sent_at DATETIME NOT NULL, 
	sent_wall DATETIME NOT NULL, 
	business_id VARCHAR, 
	method VARCHAR NOT NULL, 
	url VARCHAR NOT NULL, 
	request_headers JSON NOT NULL, 
	request_body VARCHAR NOT NULL, 
	response_status INTEGER, 
	response_headers JSON NOT NULL, 
	response_body VARCHAR, 
	elapsed_ms FLOAT, 
	error VARCHAR, 
	passed BOOLEAN, 
	failures JSON NOT NULL, 
	warnings JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (delivery_id, number), 
	FOREIGN KEY(delivery_id) REFERENCES delivery (id)
);
INSERT INTO "attempt" VALUES(1,1,1,0,'done','2026-01-31 10:00:00.000000','2026-01-31 10:00:00.000000','2026-12-02 07:55:56.203403','c1fe2391-865b-4a5b-b0b8-78814839acdd','POST','http://127.0.0.1:43575/demo-merchant/produce?signature=91D9AB94F0637B61D8A41B6CCB8CBA15EB1C98EF9B8373245A42DEA65170B111&timestamp=1796198156213&nonce=bJ5T3SULn64IyfKS','{"Host": "127.0.0.1:43575", "Accept": "application/json", "Content-Type": "application/json;charset=utf8", "User-Agent": "koogallery-emulator/0.1.0", "Accept-Encoding": "gzip, deflate", "Content-Length": "164"}','{"activity":"newInstance","businessId":"c1fe2391-865b-4a5b-b0b8-78814839acdd","orderId":"CS2601311800QLDJM","orderLineId":"CS2601311800QLDJM-000001","testFlag":"0"}',200,'{"Content-Type": "application/json; charset=utf-8", "Content-Length": "103", "Date": "Wed, 02 Dec 2026 07:55:56 GMT", "Server": "Python/3.11 aiohttp/3.14.5"}','{"resultCode": "000000", "resultMsg": "success.", "instanceId": "c1fe2391-865b-4a5b-b0b8-78814839acdd"}',1.92,NULL,1,'[]','[]');
INSERT INTO "attempt" VALUES(2,2,1,0,'done','2026-01-31 10:00:00.000000','2026-01-31 10:00:00.000000','2026-12-02 07:55:56.276577','56c19cbf-83c6-4f9c-9952-00941658e705','POST','http://127.0.0.1:43575/demo-merchant/produce?signature=312B0889A1F74DAB77B36C7F6BC7D3F04C0182FE8445F0D6E3AC67A4B2850D06&timestamp=1796198156277&nonce=iSPwTpwhus3yznzQ','{"Host": "127.0.0.1:43575", "Accept": "application/json", "Content-Type": "application/json;charset=utf8", "User-Agent": "koogallery-emulator/0.1.0", "Accept-Encoding": "gzip, deflate", "Content-Length": "164"}','{"activity":"newInstance","businessId":"56c19cbf-83c6-4f9c-9952-00941658e705","orderId":"CS260131180007WN6","orderLineId":"CS260131180007WN6-000001","testFlag":"0"}',200,'{"Content-Type": "application/json; charset=utf-8", "Content-Length": "103", "Date": "Wed, 02 Dec 2026 07:55:56 GMT", "Server": "Python/3.11 aiohttp/3.14.5"}','{"resultCode": "000000", "resultMsg": "success.", "instanceId": "56c19cbf-83c6-4f9c-9952-00941658e705"}',1.23,NULL,1,'[]','[]');
INSERT INTO "attempt" VALUES(3,3,1,0,'done','2026-01-31 10:01:00.000000','2026-01-31 10:01:00.000000','2026-12-02 07:55:56.316242',NULL,'POST','http://127.0.0.1:43575/demo-merchant/produce?signature=ABFFC008C671100E90470D6BB77AA6B4983AD275797A04BF26DD2D2C2BEF1624&timestamp=1796198156320&nonce=GPfwFfB0bEZ3wWYw','{"Host": "127.0.0.1:43575", "Accept": "application/json", "Content-Type": "application/json;charset=utf8", "User-Agent": "koogallery-emulator/0.1.0", "Accept-Encoding": "gzip, deflate", "Content-Length": "95"}','{"activity":"queryInstance","instanceId":"c1fe2391-865b-4a5b-b0b8-78814839acdd","testFlag":"0"}',200,'{"Content-Type": "application/json; charset=utf-8", "Content-Length": "214", "Date": "Wed, 02 Dec 2026 07:55:56 GMT", "Server": "Python/3.11 aiohttp/3.14.5"}','{"resultCode": "000000", "resultMsg": "success.", "info": [{"instanceId": "c1fe2391-865b-4a5b-b0b8-78814839acdd", "appInfo": {"frontEndUrl": "https://demo.example.com/c1fe2391-865b-4a5b-b0b8-78814839acdd/login"}}]}',2.22,NULL,1,'[]','[]');
INSERT INTO "attempt" VALUES(4,4,1,0,'done','2026-01-31 10:01:00.000000','2026-01-31 10:01:00.000000','2026-12-02 07:55:56.316242',NULL,'POST','http://127.0.0.1:43575/demo-merchant/produce?signature=B1B4A366763F6277A70963E78092F46873CE82FF1F532294F147DA5106F93084&timestamp=1796198156321&nonce=lG98nvdjeIkM5jq9','{"Host": "127.0.0.1:43575", "Accept": "application/json", "Content-Type": "application/json;charset=utf8", "User-Agent": "koogallery-emulator/0.1.0", "Accept-Encoding": "gzip, deflate", "Content-Length": "95"}','{"activity":"queryInstance","instanceId":"56c19cbf-83c6-4f9c-9952-00941658e705","testFlag":"0"}',200,'{"Content-Type": "application/json; charset=utf-8", "Content-Length": "214", "Date": "Wed, 02 Dec 2026 07:55:56 GMT", "Server": "Python/3.11 aiohttp/3.14.5"}','{"resultCode": "000000", "resultMsg": "success.", "info": [{"instanceId": "56c19cbf-83c6-4f9c-9952-00941658e705", "appInfo": {"frontEndUrl": "https://demo.example.com/56c19cbf-83c6-4f9c-9952-00941658e705/login"}}]}',3.72,NULL,1,'[]','[]');
CREATE TABLE clockrow (
	id INTEGER NOT NULL, 
	mode VARCHAR NOT NULL, 
	speed FLOAT NOT NULL, 
	anchor_emulated DATETIME NOT NULL, 
	anchor_wall DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "clockrow" VALUES(1,'manual',1.0,'2026-01-31 12:00:00.000000','2026-12-02 07:55:56.348662');
CREATE TABLE debugcase (
	id INTEGER NOT NULL, 
	product_id VARCHAR NOT NULL, 
	case_name VARCHAR NOT NULL, 
	activity VARCHAR NOT NULL, 
	params JSON NOT NULL, 
	url VARCHAR NOT NULL, 
	saved_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (product_id, case_name), 
	FOREIGN KEY(product_id) REFERENCES product (id)
);
CREATE TABLE delivery (
	id INTEGER NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	instance_key VARCHAR, 
	order_id VARCHAR, 
	kind VARCHAR NOT NULL, 
	activity VARCHAR NOT NULL, 
	policy VARCHAR NOT NULL, 
	params JSON NOT NULL, 
	test_flag VARCHAR, 
	status VARCHAR NOT NULL, 
	schedule_start DATETIME NOT NULL, 
	first_delay_s INTEGER NOT NULL, 
	interval_s INTEGER NOT NULL, 
	slots_total INTEGER NOT NULL, 
	slots_used INTEGER NOT NULL, 
	manual_pending INTEGER NOT NULL, 
	resent_after_success BOOLEAN NOT NULL, 
	next_attempt_at DATETIME, 
	blocked_by INTEGER, 
	on_success VARCHAR, 
	on_exhaust VARCHAR, 
	attempt_count INTEGER NOT NULL, 
	last_verdict VARCHAR, 
	note VARCHAR, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
INSERT INTO "delivery" VALUES(1,'demo','CS2601311800QLDJM-000001','CS2601311800QLDJM','purchase','newInstance','purchase','{"orderId": "CS2601311800QLDJM", "orderLineId": "CS2601311800QLDJM-000001"}','0','succeeded','2026-01-31 10:00:00.000000',0,3600,4,1,0,0,NULL,NULL,'purchase_delivered','purchase_exhausted',1,'passed',NULL,'2026-01-31 10:00:00.000000','2026-01-31 10:00:00.000000');
INSERT INTO "delivery" VALUES(2,'demo','CS260131180007WN6-000001','CS260131180007WN6','purchase','newInstance','purchase','{"orderId": "CS260131180007WN6", "orderLineId": "CS260131180007WN6-000001"}','0','succeeded','2026-01-31 10:00:00.000000',0,3600,4,1,0,0,NULL,NULL,'purchase_delivered','purchase_exhausted',1,'passed',NULL,'2026-01-31 10:00:00.000000','2026-01-31 10:00:00.000000');
INSERT INTO "delivery" VALUES(3,'demo','CS2601311800QLDJM-000001',NULL,'readiness_poll','queryInstance','query_poll','{"instanceId": "c1fe2391-865b-4a5b-b0b8-78814839acdd"}','0','succeeded','2026-01-31 10:00:00.000000',60,600,18,1,0,0,NULL,NULL,'instance_ready','never_ready',1,'passed',NULL,'2026-01-31 10:00:00.000000','2026-01-31 10:01:00.000000');
INSERT INTO "delivery" VALUES(4,'demo','CS260131180007WN6-000001',NULL,'readiness_poll','queryInstance','query_poll','{"instanceId": "56c19cbf-83c6-4f9c-9952-00941658e705"}','0','succeeded','2026-01-31 10:00:00.000000',60,600,18,1,0,0,NULL,NULL,'instance_ready','never_ready',1,'passed',NULL,'2026-01-31 10:00:00.000000','2026-01-31 10:01:00.000000');
CREATE TABLE dialcaseresult (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	case_name VARCHAR NOT NULL, 
	activity VARCHAR NOT NULL, 
	delivery_id INTEGER, 
	passed BOOLEAN NOT NULL, 
	verdict VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES dialrun (id)
);
CREATE TABLE dialcursor (
	id INTEGER NOT NULL, 
	last_slot_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE dialrun (
	id INTEGER NOT NULL, 
	product_id VARCHAR NOT NULL, 
	slot_at DATETIME NOT NULL, 
	"trigger" VARCHAR NOT NULL, 
	state VARCHAR NOT NULL, 
	verdict VARCHAR, 
	reason VARCHAR, 
	streak INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (product_id, slot_at, "trigger"), 
	FOREIGN KEY(product_id) REFERENCES product (id)
);
CREATE TABLE inboundcall (
	id INTEGER NOT NULL, 
	request_id VARCHAR NOT NULL, 
	merchant_id VARCHAR, 
	ak VARCHAR, 
	api VARCHAR NOT NULL, 
	at DATETIME NOT NULL, 
	wall DATETIME NOT NULL, 
	method VARCHAR NOT NULL, 
	path VARCHAR NOT NULL, 
	"query" VARCHAR NOT NULL, 
	request_headers JSON NOT NULL, 
	request_body VARCHAR NOT NULL, 
	status INTEGER NOT NULL, 
	response_body VARCHAR NOT NULL, 
	result_code VARCHAR NOT NULL, 
	accepted BOOLEAN NOT NULL, 
	verdict VARCHAR NOT NULL, 
	detail VARCHAR, 
	elapsed_ms FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "inboundcall" VALUES(1,'a763fd8bd1b1476c878938018a625b20','demo','5Y5A9HHYN86SOJ81C9PR','query_order','2026-01-31 10:00:00.000000','2026-12-02 07:55:56.225234','GET','/api/mkp-openapi-public/global/v1/order/query','orderId=CS2601311800QLDJM&orderLineId=CS2601311800QLDJM-000001','{"Host": "127.0.0.1:43575", "Content-Type": "application/json;charset=UTF-8", "X-Sdk-Date": "20261202T075556Z", "Authorization": "SDK-HMAC-SHA256 Access=5Y5A9HHYN86SOJ81C9PR, SignedHeaders=content-type;host;x-sdk-date, Signature=220e337a05b81cc3e91836ff7c4c68c12f888700a9f6e23c24bf6800215d00ff", "Accept": "*/*", "Accept-Encoding": "gzip, deflate", "User-Agent": "Python/3.11 aiohttp/3.14.5"}','',200,'{"resultCode": "MKT.0000", "resultMsg": "Success", "orderInfo": {"orderId": "CS2601311800QLDJM", "orderType": "NEW", "createTime": "20260131100000", "orderLine": [{"orderLineId": "CS2601311800QLDJM-000001", "chargingMode": "PERIOD", "periodType": "month", "periodNumber": 1, "expireTime": "20260228100000", "productInfo": [{"productId": "OFFI100000000000000001", "skuCode": "5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01", "linearValue": null, "productName": "Demo SaaS, standard edition, monthly"}], "extendParams": [], "currency": "100", "currencyAfterDiscount": "100"}], "buyerInfo": {"mobilePhone": null, "email": null, "customerId": "f86f2a5adb524295a7d5947b7680ae07", "customerName": "mock_user_f86f2a", "customerRealName": null, "customerType": 0, "userId": null, "userName": null}, "extendParams": []}}','MKT.0000',1,'accepted',NULL,15.36);
INSERT INTO "inboundcall" VALUES(2,'3baaf97e4ecd4cba9f406a47a5b2341f','demo','5Y5A9HHYN86SOJ81C9PR','query_order','2026-01-31 10:00:00.000000','2026-12-02 07:55:56.283388','GET','/api/mkp-openapi-public/global/v1/order/query','orderId=CS260131180007WN6&orderLineId=CS260131180007WN6-000001','{"Host": "127.0.0.1:43575", "Content-Type": "application/json;charset=UTF-8", "X-Sdk-Date": "20261202T075556Z", "Authorization": "SDK-HMAC-SHA256 Access=5Y5A9HHYN86SOJ81C9PR, SignedHeaders=content-type;host;x-sdk-date, Signature=71380329c481022ddf9e09df54cec8df0c571a12cdec97e8fe28dce902cc45e0", "Accept": "*/*", "Accept-Encoding": "gzip, deflate", "User-Agent": "Python/3.11 aiohttp/3.14.5"}','',200,'{"resultCode": "MKT.0000", "resultMsg": "Success", "orderInfo": {"orderId": "CS260131180007WN6", "orderType": "NEW", "createTime": "20260131100000", "orderLine": [{"orderLineId": "CS260131180007WN6-000001", "chargingMode": "PERIOD", "periodType": "month", "periodNumber": 1, "expireTime": "20260228100000", "productInfo": [{"productId": "OFFI100000000000000001", "skuCode": "5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01", "linearValue": null, "productName": "Demo SaaS, standard edition, monthly"}], "extendParams": [], "currency": "100", "currencyAfterDiscount": "100"}], "buyerInfo": {"mobilePhone": null, "email": null, "customerId": "f6cc07ba58244e6cbd2750e767adffde", "customerName": "mock_user_f6cc07", "customerRealName": null, "customerType": 0, "userId": null, "userName": null}, "extendParams": []}}','MKT.0000',1,'accepted',NULL,2.43);
CREATE TABLE instance (
	"key" VARCHAR(64) NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	order_id VARCHAR NOT NULL, 
	product_id VARCHAR NOT NULL, 
	linear_value INTEGER, 
	state VARCHAR NOT NULL, 
	frozen_reason VARCHAR, 
	trial BOOLEAN NOT NULL, 
	instance_id VARCHAR(128), 
	expire_at DATETIME, 
	next_event VARCHAR, 
	next_event_at DATETIME, 
	ready BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	released_at DATETIME, 
	PRIMARY KEY ("key"), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id), 
	FOREIGN KEY(product_id) REFERENCES product (id)
);
INSERT INTO "instance" VALUES('CS2601311800QLDJM-000001','demo','CS2601311800QLDJM','OFFI100000000000000001',NULL,'active',NULL,0,'c1fe2391-865b-4a5b-b0b8-78814839acdd','2026-02-28 10:00:00.000000','expire','2026-02-28 10:00:00.000000',1,'2026-01-31 10:00:00.000000',NULL);
INSERT INTO "instance" VALUES('CS260131180007WN6-000001','demo','CS260131180007WN6','OFFI100000000000000001',NULL,'active',NULL,0,'56c19cbf-83c6-4f9c-9952-00941658e705','2026-02-28 10:00:00.000000','expire','2026-02-28 10:00:00.000000',1,'2026-01-31 10:00:00.000000',NULL);
CREATE TABLE licensecode (
	code VARCHAR(64) NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	product_id VARCHAR NOT NULL, 
	sku_code VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	test BOOLEAN NOT NULL, 
	effective_at DATETIME NOT NULL, 
	expire_at DATETIME, 
	activated_at DATETIME, 
	last_heartbeat_at DATETIME, 
	third_party_account VARCHAR, 
	ip VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (code), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id), 
	FOREIGN KEY(product_id) REFERENCES product (id)
);
CREATE TABLE merchant (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR NOT NULL, 
	production_url VARCHAR NOT NULL, 
	access_key VARCHAR NOT NULL, 
	family VARCHAR NOT NULL, 
	kit_key VARCHAR, 
	signature_hex_case VARCHAR NOT NULL, 
	content_type VARCHAR NOT NULL, 
	purchase_on_exhaust VARCHAR NOT NULL, 
	retry_overrides JSON NOT NULL, 
	builtin_stub BOOLEAN NOT NULL, 
	contact_email VARCHAR, 
	contact_mobile VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "merchant" VALUES('demo','Demo merchant (built in)','http://127.0.0.1:43575/demo-merchant/produce','demo-access-key-0001','saas_v2_slim',NULL,'upper','application/json;charset=utf8','unsubscribe','{}',1,NULL,NULL,'2026-01-31 10:00:00.000000');
CREATE TABLE notification (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	channel VARCHAR NOT NULL, 
	"to" VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	body VARCHAR NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	product_id VARCHAR, 
	run_id INTEGER, 
	smtp_sent BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE oauthapp (
	client_id VARCHAR(64) NOT NULL, 
	client_secret VARCHAR NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	login_url VARCHAR NOT NULL, 
	public_key VARCHAR, 
	tenant_id VARCHAR NOT NULL, 
	tenant_code VARCHAR NOT NULL, 
	tenant_name VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (client_id), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
INSERT INTO "oauthapp" VALUES('demoapp0000000000000000000000001','demo-client-secret-0000000000000000000001','demo','Demo SaaS app','http://127.0.0.1:3000/callback',NULL,'0a37f6bde5504a75a45070c035ea6f91','t0a37f6bd','Demo SaaS app test tenant','2026-01-31 10:00:00.000000');
CREATE TABLE oauthcode (
	code VARCHAR NOT NULL, 
	client_id VARCHAR NOT NULL, 
	user_id VARCHAR NOT NULL, 
	redirect_uri VARCHAR NOT NULL, 
	redirect_uri_sent BOOLEAN NOT NULL, 
	session_id VARCHAR, 
	expires_at DATETIME NOT NULL, 
	used_at DATETIME, 
	PRIMARY KEY (code)
);
CREATE TABLE oauthevent (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	client_id VARCHAR, 
	user VARCHAR, 
	event VARCHAR NOT NULL, 
	detail VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE oauthtoken (
	token VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	client_id VARCHAR NOT NULL, 
	user_id VARCHAR NOT NULL, 
	code VARCHAR, 
	expires_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (token)
);
CREATE TABLE oauthuser (
	id VARCHAR(64) NOT NULL, 
	client_id VARCHAR NOT NULL, 
	user_name VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	email VARCHAR, 
	mobile VARCHAR, 
	role VARCHAR NOT NULL, 
	password VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (client_id, user_name), 
	FOREIGN KEY(client_id) REFERENCES oauthapp (client_id)
);
INSERT INTO "oauthuser" VALUES('d9ab23ab-c12c-496f-a359-1048f5a6455b','demoapp0000000000000000000000001','zhangsan','张三','zhangsan@example.com','13800000000','admin','Test@123456','2026-01-31 10:00:00.000000');
INSERT INTO "oauthuser" VALUES('a623b429-e183-46be-b833-2c80acbe62c2','demoapp0000000000000000000000001','lisi','李四','lisi@example.com','13900000000','user','Test@123456','2026-01-31 10:00:00.000000');
CREATE TABLE "order" (
	id VARCHAR(64) NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	order_type VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	instance_key VARCHAR, 
	related_order_id VARCHAR, 
	buyer JSON NOT NULL, 
	test_flag VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	seq INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
INSERT INTO "order" VALUES('CS2601311800QLDJM','demo','NEW','delivered','CS2601311800QLDJM-000001',NULL,'{"customer_id": "f86f2a5adb524295a7d5947b7680ae07", "customer_name": "mock_user_f86f2a", "customer_real_name": null, "customer_type": 0, "mobile_phone": null, "email": null}','0','2026-01-31 10:00:00.000000',1);
INSERT INTO "order" VALUES('CS260131180007WN6','demo','NEW','delivered','CS260131180007WN6-000001',NULL,'{"customer_id": "f6cc07ba58244e6cbd2750e767adffde", "customer_name": "mock_user_f6cc07", "customer_real_name": null, "customer_type": 0, "mobile_phone": null, "email": null}','0','2026-01-31 10:00:00.000000',2);
CREATE TABLE orderline (
	id VARCHAR(64) NOT NULL, 
	order_id VARCHAR NOT NULL, 
	product_id VARCHAR NOT NULL, 
	sku_code VARCHAR NOT NULL, 
	charging_mode VARCHAR NOT NULL, 
	period_type VARCHAR, 
	period_number INTEGER, 
	linear_value INTEGER, 
	amount VARCHAR NOT NULL, 
	previous_expire_at DATETIME, 
	expire_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(order_id) REFERENCES "order" (id), 
	FOREIGN KEY(product_id) REFERENCES product (id)
);
INSERT INTO "orderline" VALUES('CS2601311800QLDJM-000001','CS2601311800QLDJM','OFFI100000000000000001','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01','PERIOD','month',1,NULL,'100',NULL,'2026-02-28 10:00:00.000000');
INSERT INTO "orderline" VALUES('CS260131180007WN6-000001','CS260131180007WN6','OFFI100000000000000001','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01','PERIOD','month',1,NULL,'100',NULL,'2026-02-28 10:00:00.000000');
CREATE TABLE product (
	id VARCHAR(64) NOT NULL, 
	code VARCHAR(64) NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	sku_code VARCHAR(64) NOT NULL, 
	name VARCHAR NOT NULL, 
	charging_mode VARCHAR NOT NULL, 
	period_type VARCHAR, 
	trial_days INTEGER, 
	upgradable BOOLEAN NOT NULL, 
	allows_change BOOLEAN NOT NULL, 
	linear_unit VARCHAR, 
	price VARCHAR NOT NULL, 
	grace_days INTEGER NOT NULL, 
	retention_days INTEGER NOT NULL, 
	expiry_rounding VARCHAR NOT NULL, 
	sale_state VARCHAR NOT NULL, 
	frozen BOOLEAN NOT NULL, 
	fail_streak INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
INSERT INTO "product" VALUES('OFFI100000000000000001','demo-saas-monthly','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01','Demo SaaS, standard edition, monthly','PERIOD','month',7,1,1,'users','100',15,15,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000002','demo-saas-yearly','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d01','Demo SaaS, standard edition, yearly','PERIOD','year',NULL,1,1,'users','1000',15,15,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000003','demo-saas-pro-monthly','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d02','Demo SaaS, professional edition, monthly','PERIOD','month',NULL,1,1,'users','300',15,15,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000004','demo-saas-daily','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d03','Demo SaaS, daily pass','PERIOD','day',NULL,0,0,NULL,'5',1,1,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000005','demo-saas-hourly','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d04','Demo SaaS, hourly sandbox','PERIOD','hour',NULL,0,0,NULL,'1',0,1,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000006','demo-onetime','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d05','Demo one-time licence pack','ONE_TIME',NULL,NULL,0,0,NULL,'500',15,15,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
INSERT INTO "product" VALUES('OFFI100000000000000007','demo-ondemand','demo','5d3c1f8e-0a41-4d7e-9c1e-0b6f1a2c3d06','Demo pay-per-use API calls','ON_DEMAND',NULL,NULL,0,0,NULL,'0',15,15,'none','on_sale',0,0,'2026-01-31 10:00:00.000000');
CREATE TABLE ssosession (
	id VARCHAR NOT NULL, 
	user_id VARCHAR NOT NULL, 
	client_id VARCHAR NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE usagerecord (
	id INTEGER NOT NULL, 
	merchant_id VARCHAR NOT NULL, 
	instance_key VARCHAR NOT NULL, 
	instance_id VARCHAR NOT NULL, 
	metering_sn VARCHAR NOT NULL, 
	record_time DATETIME NOT NULL, 
	begin_time DATETIME NOT NULL, 
	end_time DATETIME NOT NULL, 
	usage_value VARCHAR NOT NULL, 
	relate_pkg_instance VARCHAR, 
	call_id INTEGER, 
	accepted_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (merchant_id, metering_sn), 
	FOREIGN KEY(merchant_id) REFERENCES merchant (id)
);
CREATE INDEX ix_inboundcall_merchant_id ON inboundcall (merchant_id);
CREATE INDEX ix_inboundcall_request_id ON inboundcall (request_id);
CREATE INDEX ix_oauthcode_client_id ON oauthcode (client_id);
CREATE INDEX ix_oauthtoken_client_id ON oauthtoken (client_id);
CREATE INDEX ix_oauthtoken_code ON oauthtoken (code);
CREATE INDEX ix_oauthevent_client_id ON oauthevent (client_id);
CREATE INDEX ix_notification_merchant_id ON notification (merchant_id);
CREATE INDEX ix_product_merchant_id ON product (merchant_id);
CREATE UNIQUE INDEX ix_product_code ON product (code);
CREATE INDEX ix_order_merchant_id ON "order" (merchant_id);
CREATE INDEX ix_order_seq ON "order" (seq);
CREATE INDEX ix_order_instance_key ON "order" (instance_key);
CREATE INDEX ix_delivery_instance_key ON delivery (instance_key);
CREATE INDEX ix_delivery_kind ON delivery (kind);
CREATE INDEX ix_delivery_blocked_by ON delivery (blocked_by);
CREATE INDEX ix_delivery_merchant_id ON delivery (merchant_id);
CREATE INDEX ix_delivery_order_id ON delivery (order_id);
CREATE INDEX ix_delivery_next_attempt_at ON delivery (next_attempt_at);
CREATE INDEX ix_delivery_status ON delivery (status);
CREATE INDEX ix_apicredential_merchant_id ON apicredential (merchant_id);
CREATE INDEX ix_usagerecord_merchant_id ON usagerecord (merchant_id);
CREATE INDEX ix_usagerecord_instance_key ON usagerecord (instance_key);
CREATE INDEX ix_oauthapp_merchant_id ON oauthapp (merchant_id);
CREATE INDEX ix_orderline_order_id ON orderline (order_id);
CREATE INDEX ix_instance_order_id ON instance (order_id);
CREATE INDEX ix_instance_merchant_id ON instance (merchant_id);
CREATE INDEX ix_instance_merchant_instance_id ON instance (merchant_id, instance_id);
CREATE INDEX ix_instance_next_event_at ON instance (next_event_at);
CREATE INDEX ix_attempt_delivery_id ON attempt (delivery_id);
CREATE INDEX ix_licensecode_merchant_id ON licensecode (merchant_id);
CREATE INDEX ix_oauthuser_client_id ON oauthuser (client_id);
CREATE INDEX ix_debugcase_product_id ON debugcase (product_id);
CREATE INDEX ix_dialrun_product_id ON dialrun (product_id);
CREATE INDEX ix_dialcaseresult_run_id ON dialcaseresult (run_id);
COMMIT;
