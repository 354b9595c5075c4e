CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL, description TEXT);
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, password TEXT, email TEXT);
CREATE TABLE comments (id INTEGER PRIMARY KEY, name TEXT, body TEXT);
INSERT INTO products (name, price, description) VALUES
 ('Desk lamp', 19.90, 'A lamp for your desk.'), ('Office chair', 149.00, 'Ergonomic chair.'),
 ('Notebook', 3.50, 'Ruled, 200 pages.'), ('Fountain pen', 45.00, 'Steel nib.'),
 ('Coffee mug', 7.90, 'Holds 350 ml.'), ('Monitor stand', 39.00, 'Bamboo.'),
 ('USB hub', 24.00, 'Seven ports.'), ('Headphones', 89.00, 'Closed back.'),
 ('Keyboard', 59.00, 'Mechanical, brown switches.'), ('Mouse pad', 9.00, 'Large.'),
 ('Webcam', 49.00, '1080p.'), ('Desk plant', 14.00, 'Hard to kill.');
INSERT INTO users (username, password, email) VALUES
 ('admin', 'letmein2018', 'admin@testbed.lan'), ('alice', 'correcthorse', 'alice@testbed.lan'),
 ('bob', 'hunter2', 'bob@testbed.lan');
INSERT INTO comments (name, body) VALUES ('alice', 'Great lamp!'), ('bob', 'Fast delivery.');
